"""Client of pricing_svc: quotes, the catalogue and discount codes."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import ClassVar

from pricing.v1 import pricing_service_pb2 as pri
from pricing.v1 import pricing_service_pb2_grpc

from priceledger_client.base import ServiceClient

_READ_S = 3.0
_WRITE_S = 5.0


class PricingClient(ServiceClient):
    """Methods return the response's one field (a Quote, a DiscountCode...), or the response for lists."""

    addr_setting = "pricing_service_addr"
    stub_class = pricing_service_pb2_grpc.PricingServiceStub
    deadlines_s: ClassVar[Mapping[str, float]] = {
        "GetQuote": _READ_S,
        "GetPricingConfig": _READ_S,
        "UpdatePricingConfig": _WRITE_S,
        "ListPricingConfigChanges": _READ_S,
        "CreateDiscountCode": _WRITE_S,
        "GetDiscountCode": _READ_S,
        "ListDiscountCodes": _READ_S,
        "DisableDiscountCode": _WRITE_S,
        "ReserveDiscountCode": _WRITE_S,
        "ConfirmDiscountCode": _WRITE_S,
        "ReleaseDiscountCode": _WRITE_S,
    }

    async def get_quote(
        self,
        product_id: str,
        *,
        discount_code: str = "",
        account_id: str = "",
        timeout_s: float | None = None,
    ) -> pri.Quote:
        request = pri.GetQuoteRequest(
            product_id=product_id, discount_code=discount_code, account_id=account_id
        )
        return (await self._call("GetQuote", request, timeout_s)).quote

    async def get_pricing_config(self, *, timeout_s: float | None = None) -> pri.PricingConfig:
        return (await self._call("GetPricingConfig", pri.GetPricingConfigRequest(), timeout_s)).config

    async def update_pricing_config(
        self,
        products: Iterable[pri.Product],
        *,
        expected_version: int,
        request_id: str | None = None,
        timeout_s: float | None = None,
    ) -> pri.PricingConfig:
        request = pri.UpdatePricingConfigRequest(products=products, expected_version=expected_version)
        return (await self._mutate("UpdatePricingConfig", request, request_id, timeout_s)).config

    async def list_pricing_config_changes(
        self, *, page_size: int = 0, page_token: str = "", timeout_s: float | None = None
    ) -> pri.ListPricingConfigChangesResponse:
        request = pri.ListPricingConfigChangesRequest(page_size=page_size, page_token=page_token)
        return await self._call("ListPricingConfigChanges", request, timeout_s)

    async def create_discount_code(
        self,
        discount_code: pri.DiscountCode,
        *,
        request_id: str | None = None,
        timeout_s: float | None = None,
    ) -> pri.DiscountCode:
        request = pri.CreateDiscountCodeRequest(discount_code=discount_code)
        return (await self._mutate("CreateDiscountCode", request, request_id, timeout_s)).discount_code

    async def get_discount_code(self, code: str, *, timeout_s: float | None = None) -> pri.DiscountCode:
        request = pri.GetDiscountCodeRequest(code=code)
        return (await self._call("GetDiscountCode", request, timeout_s)).discount_code

    async def list_discount_codes(
        self, *, page_size: int = 0, page_token: str = "", timeout_s: float | None = None
    ) -> pri.ListDiscountCodesResponse:
        request = pri.ListDiscountCodesRequest(page_size=page_size, page_token=page_token)
        return await self._call("ListDiscountCodes", request, timeout_s)

    async def disable_discount_code(
        self, code: str, *, request_id: str | None = None, timeout_s: float | None = None
    ) -> pri.DiscountCode:
        request = pri.DisableDiscountCodeRequest(code=code)
        return (await self._mutate("DisableDiscountCode", request, request_id, timeout_s)).discount_code

    async def reserve_discount_code(
        self,
        code: str,
        *,
        order_id: str,
        account_id: str,
        product_id: str,
        ttl_seconds: int,
        request_id: str | None = None,
        timeout_s: float | None = None,
    ) -> pri.Reservation:
        request = pri.ReserveDiscountCodeRequest(
            code=code,
            order_id=order_id,
            account_id=account_id,
            product_id=product_id,
            ttl_seconds=ttl_seconds,
        )
        return (await self._mutate("ReserveDiscountCode", request, request_id, timeout_s)).reservation

    async def confirm_discount_code(
        self, code: str, *, order_id: str, request_id: str | None = None, timeout_s: float | None = None
    ) -> pri.Reservation:
        request = pri.ConfirmDiscountCodeRequest(code=code, order_id=order_id)
        return (await self._mutate("ConfirmDiscountCode", request, request_id, timeout_s)).reservation

    async def release_discount_code(
        self, code: str, *, order_id: str, request_id: str | None = None, timeout_s: float | None = None
    ) -> pri.Reservation:
        request = pri.ReleaseDiscountCodeRequest(code=code, order_id=order_id)
        return (await self._mutate("ReleaseDiscountCode", request, request_id, timeout_s)).reservation
