"""GetOrder and ListOrders: one order by id, or an account's orders a page at a time, newest first."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from payment_svc.checks import check_order_id
from payment_svc.errors import OrderNotFound
from payment_svc.order_store import OrderStore
from payment_svc.orders import Order
from svckit.errors import InvalidArgument, Violations
from svckit.validation import check_account_id

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100


@dataclass(frozen=True)
class OrderPage:
    orders: list[Order]
    next_page_token: str  # "" on the last page


class OrderQueries:
    def __init__(self, orders: OrderStore) -> None:
        self._orders = orders

    async def get(self, order_id: str) -> Order:
        v = Violations()
        check_order_id(v, order_id)
        v.raise_if_any()
        stored = await self._orders.get(order_id)
        if stored is None:
            raise OrderNotFound(f"order {order_id} does not exist")
        return stored.order

    async def page(self, account_id: str, page_size: int, page_token: str) -> OrderPage:
        v = Violations()
        check_account_id(v, account_id)
        v.check(0 <= page_size <= MAX_PAGE_SIZE, "page_size", f"must be 0 to {MAX_PAGE_SIZE}")
        after = _decode_token(page_token, v)
        v.raise_if_any()
        size = page_size or DEFAULT_PAGE_SIZE
        orders = await self._orders.page(account_id, after, size + 1)
        if orders is None:
            problem = ("page_token", "is not a token of this account's listing")
            raise InvalidArgument(": ".join(problem), field_violations=(problem,))
        page = orders[:size]
        return OrderPage(page, _encode_token(page[-1].order_id) if len(orders) > size else "")


def _encode_token(order_id: str) -> str:
    return base64.urlsafe_b64encode(order_id.encode()).decode()


def _decode_token(token: str, v: Violations) -> str:
    if not token:
        return ""
    try:
        order_id = base64.urlsafe_b64decode(token.encode()).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        order_id = ""
    check_order_id(v, order_id, "page_token")
    return order_id
