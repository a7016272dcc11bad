"""Discount codes and their redemptions: checks each request, decides, and runs it as one script."""

from __future__ import annotations

import asyncio
from dataclasses import replace

from pricing_svc import codes, quotes
from pricing_svc.catalogue import check_product_id
from pricing_svc.code_store import CodeStore
from pricing_svc.codes import CodeState, DiscountCode, Reservation
from pricing_svc.errors import DiscountCodeNotFound
from pricing_svc.price_book import PriceBook
from svckit.clock import Clock
from svckit.errors import Violations
from svckit.paging import Paging
from svckit.validation import check_account_id, check_request_id

CODES_PAGING = Paging("pricing.v1.codes", default_size=50, max_size=500)


class Redemptions:
    def __init__(self, store: CodeStore, prices: PriceBook, clock: Clock) -> None:
        self._store = store
        self._prices = prices
        self._clock = clock

    async def create(self, typed: DiscountCode, request_id: str) -> CodeState:
        """Creates `typed` under its upper-case name; its name is checked as typed, so `upper()`
        cannot turn an invalid name into a valid one."""
        v = Violations()
        code = codes.normalize(v, typed.code, "discount_code.code")
        codes.check_new(v, typed)
        check_request_id(v, request_id)
        v.raise_if_any()
        definition = replace(typed, code=code, create_ms=self._clock.now_ms())
        return await self._store.create(definition, request_id=request_id)

    async def get(self, code_typed: str) -> CodeState:
        code = _checked_code(code_typed)
        return await self._store.get(code, now_ms=self._clock.now_ms())

    async def list(self, page_size: int, page_token: str) -> tuple[list[CodeState], str]:
        """A page of codes in code order, and the next page's token ('' after the last)."""
        v = Violations()
        size = CODES_PAGING.page_size(v, page_size)
        after = CODES_PAGING.decode_token(v, page_token)
        v.raise_if_any()
        names = await self._store.list_names(after=after, count=size + 1)
        now = self._clock.now_ms()
        states = await asyncio.gather(*(self._store.get(name, now_ms=now) for name in names[:size]))
        return list(states), CODES_PAGING.encode_token(names[size - 1]) if len(names) > size else ""

    async def disable(self, code_typed: str, request_id: str) -> CodeState:
        v = Violations()
        code = codes.normalize(v, code_typed)
        check_request_id(v, request_id)
        v.raise_if_any()
        return await self._store.disable(code, request_id=request_id, now_ms=self._clock.now_ms())

    async def reserve(
        self,
        code_typed: str,
        order_id: str,
        account_id: str,
        product_id: str,
        ttl_seconds: int,
        request_id: str,
    ) -> Reservation:
        """Holds a redemption only where a quote would apply the code, so no redemption is spent
        on a code that takes nothing off."""
        v = Violations()
        code = codes.normalize(v, code_typed)
        check_request_id(v, order_id, "order_id")
        check_account_id(v, account_id)
        check_product_id(v, product_id)
        codes.check_ttl(v, ttl_seconds)
        check_request_id(v, request_id)
        v.raise_if_any()
        now = self._clock.now_ms()
        product = await self._prices.product(product_id)
        definition = await self._store.definition(code)
        if definition is None:
            raise DiscountCodeNotFound(metadata={"code": code})
        return await self._store.reserve(
            code,
            order_id=order_id,
            account_id=account_id,
            product_id=product_id,
            ttl_ms=ttl_seconds * 1000,
            request_id=request_id,
            now_ms=now,
            terms_refusal=quotes.code_refusal(definition, product, now) or "",
        )

    async def confirm(self, code_typed: str, order_id: str, request_id: str) -> Reservation:
        code = _checked_order_step(code_typed, order_id, request_id)
        return await self._store.confirm(
            code, order_id=order_id, request_id=request_id, now_ms=self._clock.now_ms()
        )

    async def release(self, code_typed: str, order_id: str, request_id: str) -> Reservation:
        code = _checked_order_step(code_typed, order_id, request_id)
        return await self._store.release(
            code, order_id=order_id, request_id=request_id, now_ms=self._clock.now_ms()
        )


def _checked_code(code_typed: str) -> str:
    v = Violations()
    code = codes.normalize(v, code_typed)
    v.raise_if_any()
    return code


def _checked_order_step(code_typed: str, order_id: str, request_id: str) -> str:
    v = Violations()
    code = codes.normalize(v, code_typed)
    check_request_id(v, order_id, "order_id")
    check_request_id(v, request_id)
    v.raise_if_any()
    return code
