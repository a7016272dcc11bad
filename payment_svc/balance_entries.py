"""The balance entries an order makes: its top-up's credit, and the debits when a top-up is refunded or
disputed. Each names its order (the entry's reference) and is applied once per request_id."""

from __future__ import annotations

from balance.v1 import balance_service_pb2 as bal

from payment_svc.orders import Order
from payment_svc.ports import Balance


async def credit_top_up(balance: Balance, order: Order, amount_minor: int, request_id: str) -> None:
    await balance.credit(
        order.account_id,
        amount_minor,
        reason=bal.TRANSACTION_REASON_TOP_UP,
        currency=order.currency,
        reference=order.order_id,
        request_id=request_id,
    )


async def debit_refund(balance: Balance, order: Order, amount_minor: int, request_id: str) -> None:
    await balance.debit(
        order.account_id,
        amount_minor,
        reason=bal.TRANSACTION_REASON_REFUND,
        currency=order.currency,
        reference=order.order_id,
        request_id=request_id,
    )


async def available_minor(balance: Balance, account_id: str) -> int:
    return (await balance.get_balance(account_id)).available_minor
