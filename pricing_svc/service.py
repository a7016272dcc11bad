"""PricingService servicer: proto to domain and back."""

from __future__ import annotations

import asyncio

from pricing.v1 import pricing_service_pb2 as pb
from pricing.v1 import pricing_service_pb2_grpc

from pricing_svc import codes, convert, paging, quotes
from pricing_svc.catalogue import PRODUCT_ID_RE, Product, check_products
from pricing_svc.code_store import CodeStore
from pricing_svc.codes import DiscountCode
from pricing_svc.config_cache import ConfigCache
from pricing_svc.config_store import ConfigStore
from pricing_svc.errors import DiscountCodeNotFound
from svckit.auth import caller_id
from svckit.clock import Clock
from svckit.errors import Violations
from svckit.validation import check_account_id, check_request_id


def _check_product_id(v: Violations, value: str) -> None:
    v.check(bool(PRODUCT_ID_RE.fullmatch(value)), "product_id", "must be 1-64 characters of [a-z0-9_-]")


class PricingServicer(pricing_service_pb2_grpc.PricingServiceServicer):
    def __init__(self, cache: ConfigCache, config: ConfigStore, codes_: CodeStore, clock: Clock) -> None:
        self._cache = cache
        self._config = config
        self._codes = codes_
        self._clock = clock

    async def GetQuote(self, request: pb.GetQuoteRequest, context) -> pb.GetQuoteResponse:
        v = Violations()
        _check_product_id(v, request.product_id)
        code = codes.normalize(v, request.discount_code, "discount_code") if request.discount_code else ""
        if request.account_id:
            check_account_id(v, request.account_id)
        v.raise_if_any()
        now = self._clock.now_ms()
        catalogue = await self._cache.current()
        product = catalogue.product(request.product_id)
        usable, refusal = None, ""
        if code:
            usable, refusal = await self._usable_code(code, request.account_id, product, now)
        quote = quotes.price(
            product,
            config_version=catalogue.version,
            now_ms=now,
            code=usable,
            code_not_applied_reason=refusal,
        )
        return pb.GetQuoteResponse(quote=convert.quote_to_pb(quote))

    async def _usable_code(
        self, code: str, account_id: str, product: Product, now_ms: int
    ) -> tuple[DiscountCode | None, str]:
        """The code if it may apply to `product` for `account_id` now; else None and the reason why not."""
        _, mode_price = product.price_at(now_ms)
        try:
            state, refusal = await self._codes.check(
                code, account_id=account_id, product=product, mode_price_minor=mode_price, now_ms=now_ms
            )
        except DiscountCodeNotFound as err:
            return None, err.reason
        return (None, refusal) if refusal else (state.definition, "")

    async def GetPricingConfig(self, request, context) -> pb.GetPricingConfigResponse:
        await self._cache.refresh()  # admins read what Redis holds, not what this replica cached
        return pb.GetPricingConfigResponse(config=convert.catalogue_to_pb(await self._cache.current()))

    async def UpdatePricingConfig(self, request: pb.UpdatePricingConfigRequest, context):
        v = Violations()
        check_request_id(v, request.request_id)
        v.check(request.expected_version >= 0, "expected_version", "must not be negative")
        products = tuple(convert.product_from_pb(p) for p in request.products)
        check_products(v, products)
        v.raise_if_any()
        change = await self._config.update(
            products,
            expected_version=request.expected_version,
            request_id=request.request_id,
            caller=caller_id(context.invocation_metadata()),
            now_ms=self._clock.now_ms(),
        )
        await self._cache.install(convert.catalogue_from_pb(change.config))
        return pb.UpdatePricingConfigResponse(config=change.config)

    async def ListPricingConfigChanges(self, request: pb.ListPricingConfigChangesRequest, context):
        v = Violations()
        size = paging.page_size(v, request.page_size, default=20, maximum=100)
        position = paging.decode_token(v, request.page_token)
        v.check(position == "" or position.isdigit(), "page_token", "is not a token from a previous response")
        v.raise_if_any()
        newest = int(position) if position else await self._config.version()
        changes = await self._config.changes(newest, size)
        next_version = newest - size
        token = paging.encode_token(str(next_version)) if next_version > 0 else ""
        return pb.ListPricingConfigChangesResponse(changes=changes, next_page_token=token)

    async def CreateDiscountCode(self, request: pb.CreateDiscountCodeRequest, context):
        definition = convert.code_from_pb(
            request.discount_code, code=request.discount_code.code.upper(), create_ms=self._clock.now_ms()
        )
        v = Violations()
        codes.check_new(v, definition)
        check_request_id(v, request.request_id)
        v.raise_if_any()
        state = await self._codes.create(definition, request_id=request.request_id)
        return pb.CreateDiscountCodeResponse(discount_code=convert.code_state_to_pb(state))

    async def GetDiscountCode(self, request: pb.GetDiscountCodeRequest, context):
        v = Violations()
        code = codes.normalize(v, request.code)
        v.raise_if_any()
        state = await self._codes.get(code, now_ms=self._clock.now_ms())
        return pb.GetDiscountCodeResponse(discount_code=convert.code_state_to_pb(state))

    async def ListDiscountCodes(self, request: pb.ListDiscountCodesRequest, context):
        v = Violations()
        size = paging.page_size(v, request.page_size, default=50, maximum=500)
        after = paging.decode_token(v, request.page_token)
        v.raise_if_any()
        names = await self._codes.list_names(after=after, count=size + 1)
        now = self._clock.now_ms()
        states = await asyncio.gather(*(self._codes.get(name, now_ms=now) for name in names[:size]))
        token = paging.encode_token(names[size - 1]) if len(names) > size else ""
        return pb.ListDiscountCodesResponse(
            discount_codes=[convert.code_state_to_pb(s) for s in states], next_page_token=token
        )

    async def DisableDiscountCode(self, request: pb.DisableDiscountCodeRequest, context):
        v = Violations()
        code = codes.normalize(v, request.code)
        check_request_id(v, request.request_id)
        v.raise_if_any()
        state = await self._codes.disable(code, request_id=request.request_id, now_ms=self._clock.now_ms())
        return pb.DisableDiscountCodeResponse(discount_code=convert.code_state_to_pb(state))

    async def ReserveDiscountCode(self, request: pb.ReserveDiscountCodeRequest, context):
        v = Violations()
        code = codes.normalize(v, request.code)
        check_request_id(v, request.order_id, "order_id")
        check_account_id(v, request.account_id)
        _check_product_id(v, request.product_id)
        codes.check_ttl(v, request.ttl_seconds)
        check_request_id(v, request.request_id)
        v.raise_if_any()
        now = self._clock.now_ms()
        product = (await self._cache.current()).product(request.product_id)
        _, mode_price = product.price_at(now)
        reservation = await self._codes.reserve(
            code,
            order_id=request.order_id,
            account_id=request.account_id,
            product=product,
            mode_price_minor=mode_price,
            ttl_ms=request.ttl_seconds * 1000,
            request_id=request.request_id,
            now_ms=now,
        )
        return pb.ReserveDiscountCodeResponse(reservation=convert.reservation_to_pb(reservation))

    async def ConfirmDiscountCode(self, request: pb.ConfirmDiscountCodeRequest, context):
        code, now = self._check_order_step(request)
        reservation = await self._codes.confirm(
            code, order_id=request.order_id, request_id=request.request_id, now_ms=now
        )
        return pb.ConfirmDiscountCodeResponse(reservation=convert.reservation_to_pb(reservation))

    async def ReleaseDiscountCode(self, request: pb.ReleaseDiscountCodeRequest, context):
        code, now = self._check_order_step(request)
        reservation = await self._codes.release(
            code, order_id=request.order_id, request_id=request.request_id, now_ms=now
        )
        return pb.ReleaseDiscountCodeResponse(reservation=convert.reservation_to_pb(reservation))

    def _check_order_step(self, request) -> tuple[str, int]:
        v = Violations()
        code = codes.normalize(v, request.code)
        check_request_id(v, request.order_id, "order_id")
        check_request_id(v, request.request_id)
        v.raise_if_any()
        return code, self._clock.now_ms()
