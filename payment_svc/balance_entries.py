"""The balance entries an order makes: its top-up's credit, and the debits of a refund or dispute."""

from __future__ import annotations

from balance.v1 import balance_service_pb2 as bal

from payment_svc.orders import Order
from payment_svc.ports import Balance


async def credit_top_up(balance: Balance, order: Order, amount_minor: int, request_id: str) -> None:
    reason = bal.TRANSACTION_REASON_TOP_UP
    await balance.credit(order.account_id, amount_minor, reason=reason, **_entry(order, request_id))


async def debit_refund(balance: Balance, order: Order, amount_minor: int, request_id: str) -> None:
    reason = bal.TRANSACTION_REASON_REFUND
    await balance.debit(order.account_id, amount_minor, reason=reason, **_entry(order, request_id))


async def available_minor(balance: Balance, account_id: str) -> int:
    return (await balance.get_balance(account_id)).available_minor


def _entry(order: Order, request_id: str) -> dict[str, str]:
    """Every entry is in the order's currency, names the order and is applied once per request_id."""
    return {"currency": order.currency, "reference": order.order_id, "request_id": request_id}
