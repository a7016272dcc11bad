"""GetOrder and ListOrders: one order by id, or an account's orders a page at a time, newest first."""

from __future__ import annotations

from dataclasses import dataclass

from payment_svc.checks import check_order_id
from payment_svc.errors import OrderNotFound
from payment_svc.order_store import OrderStore
from payment_svc.orders import Order
from svckit.errors import InvalidArgument, Violations
from svckit.paging import Paging
from svckit.validation import check_account_id

PAGING = Paging("payment.v1.ListOrders", default_size=20, max_size=100)


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
        size = PAGING.page_size(v, page_size)
        after = PAGING.decode_token(v, page_token)
        if after:
            check_order_id(v, after, "page_token")
        v.raise_if_any()
        orders = await self._orders.page(account_id, after, size + 1)
        if orders is None:
            problem = ("page_token", "is not a token of this account's listing")
            raise InvalidArgument(": ".join(problem), field_violations=(problem,))
        page = orders[:size]
        return OrderPage(page, PAGING.encode_token(page[-1].order_id) if len(orders) > size else "")
