"""PricingService servicer: proto to domain and back."""

from __future__ import annotations

from pricing.v1 import pricing_service_pb2 as pb
from pricing.v1 import pricing_service_pb2_grpc

from pricing_svc import convert
from pricing_svc.price_book import PriceBook
from pricing_svc.redemptions import Redemptions
from svckit.identity import current_caller


class PricingServicer(pricing_service_pb2_grpc.PricingServiceServicer):
    def __init__(self, prices: PriceBook, redemptions: Redemptions) -> None:
        self._prices = prices
        self._redemptions = redemptions

    async def GetQuote(self, request: pb.GetQuoteRequest, context) -> pb.GetQuoteResponse:
        quote = await self._prices.quote(request.product_id, request.discount_code, request.account_id)
        return pb.GetQuoteResponse(quote=convert.quote_to_pb(quote))

    async def GetPricingConfig(self, request, context) -> pb.GetPricingConfigResponse:
        return pb.GetPricingConfigResponse(config=convert.catalogue_to_pb(await self._prices.config()))

    async def UpdatePricingConfig(self, request: pb.UpdatePricingConfigRequest, context):
        written = await self._prices.update_config(
            convert.products_from_pb(request.products),
            request.expected_version,
            request.request_id,
            current_caller().name,
        )
        return pb.UpdatePricingConfigResponse(config=convert.catalogue_to_pb(written))

    async def ListPricingConfigChanges(self, request: pb.ListPricingConfigChangesRequest, context):
        changes, token = await self._prices.config_changes(request.page_size, request.page_token)
        return pb.ListPricingConfigChangesResponse(
            changes=[convert.change_to_pb(c) for c in changes], next_page_token=token
        )

    async def CreateDiscountCode(self, request: pb.CreateDiscountCodeRequest, context):
        state = await self._redemptions.create(
            convert.code_from_pb(request.discount_code), request.request_id
        )
        return pb.CreateDiscountCodeResponse(discount_code=convert.code_state_to_pb(state))

    async def GetDiscountCode(self, request: pb.GetDiscountCodeRequest, context):
        state = await self._redemptions.get(request.code)
        return pb.GetDiscountCodeResponse(discount_code=convert.code_state_to_pb(state))

    async def ListDiscountCodes(self, request: pb.ListDiscountCodesRequest, context):
        states, token = await self._redemptions.list(request.page_size, request.page_token)
        return pb.ListDiscountCodesResponse(
            discount_codes=[convert.code_state_to_pb(s) for s in states], next_page_token=token
        )

    async def DisableDiscountCode(self, request: pb.DisableDiscountCodeRequest, context):
        state = await self._redemptions.disable(request.code, request.request_id)
        return pb.DisableDiscountCodeResponse(discount_code=convert.code_state_to_pb(state))

    async def ReserveDiscountCode(self, request: pb.ReserveDiscountCodeRequest, context):
        r = request
        reservation = await self._redemptions.reserve(
            r.code, r.order_id, r.account_id, r.product_id, r.ttl_seconds, r.request_id
        )
        return pb.ReserveDiscountCodeResponse(reservation=convert.reservation_to_pb(reservation))

    async def ConfirmDiscountCode(self, request: pb.ConfirmDiscountCodeRequest, context):
        reservation = await self._redemptions.confirm(request.code, request.order_id, request.request_id)
        return pb.ConfirmDiscountCodeResponse(reservation=convert.reservation_to_pb(reservation))

    async def ReleaseDiscountCode(self, request: pb.ReleaseDiscountCodeRequest, context):
        reservation = await self._redemptions.release(request.code, request.order_id, request.request_id)
        return pb.ReleaseDiscountCodeResponse(reservation=convert.reservation_to_pb(reservation))
