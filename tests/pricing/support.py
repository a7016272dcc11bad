"""Helpers for the pricing tests: a running pricing_svc with a manual clock, and request builders."""

from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from pricing.v1 import pricing_service_pb2 as pb
from pricing.v1 import pricing_service_pb2_grpc

from pricing_svc.server import create_server
from svckit.clock import ManualClock
from svckit.status import error_info
from tests.conftest import ADMIN_METADATA

_ids = itertools.count()


def unique(prefix: str) -> str:
    return f"{prefix}-{next(_ids)}"


def ts(ms: int) -> Timestamp:
    stamp = Timestamp()
    stamp.FromMilliseconds(ms)
    return stamp


@dataclass
class Pricing:
    """A running pricing_svc: its stub and the clock it reads."""

    stub: pricing_service_pb2_grpc.PricingServiceStub
    clock: ManualClock

    async def quote(self, product_id: str, code: str = "", account_id: str = "") -> pb.Quote:
        request = pb.GetQuoteRequest(product_id=product_id, discount_code=code, account_id=account_id)
        return (await self.stub.GetQuote(request)).quote

    async def config(self) -> pb.PricingConfig:
        return (
            await self.stub.GetPricingConfig(pb.GetPricingConfigRequest(), metadata=ADMIN_METADATA)
        ).config

    async def set_products(self, *products: pb.Product, metadata=ADMIN_METADATA) -> pb.PricingConfig:
        version = (await self.config()).version
        request = pb.UpdatePricingConfigRequest(
            products=products, expected_version=version, request_id=unique("cfg")
        )
        return (await self.stub.UpdatePricingConfig(request, metadata=metadata)).config

    async def create_code(self, code: str, **fields) -> pb.DiscountCode:
        fields.setdefault("kind", pb.DISCOUNT_KIND_PERCENT)
        if fields["kind"] == pb.DISCOUNT_KIND_PERCENT:
            fields.setdefault("percent_off", 10)
        request = pb.CreateDiscountCodeRequest(
            discount_code=pb.DiscountCode(code=code, **fields), request_id=unique("create")
        )
        return (await self.stub.CreateDiscountCode(request, metadata=ADMIN_METADATA)).discount_code

    async def get_code(self, code: str) -> pb.DiscountCode:
        request = pb.GetDiscountCodeRequest(code=code)
        return (await self.stub.GetDiscountCode(request, metadata=ADMIN_METADATA)).discount_code

    async def reserve(
        self, code: str, order_id: str, account_id: str = "acct-1", product_id: str = "launch-product", **kw
    ) -> pb.Reservation:
        request = pb.ReserveDiscountCodeRequest(
            code=code,
            order_id=order_id,
            account_id=account_id,
            product_id=product_id,
            ttl_seconds=kw.pop("ttl_seconds", 600),
            request_id=kw.pop("request_id", unique("reserve")),
        )
        return (await self.stub.ReserveDiscountCode(request)).reservation

    async def confirm(self, code: str, order_id: str, request_id: str | None = None) -> pb.Reservation:
        request = pb.ConfirmDiscountCodeRequest(
            code=code, order_id=order_id, request_id=request_id or unique("confirm")
        )
        return (await self.stub.ConfirmDiscountCode(request)).reservation

    async def release(self, code: str, order_id: str, request_id: str | None = None) -> pb.Reservation:
        request = pb.ReleaseDiscountCodeRequest(
            code=code, order_id=order_id, request_id=request_id or unique("release")
        )
        return (await self.stub.ReleaseDiscountCode(request)).reservation


async def start_pricing(start_server, channel_to, settings, clock: ManualClock | None = None) -> Pricing:
    """Starts a pricing_svc reading `clock` (a fresh ManualClock by default)."""
    clock = clock or ManualClock()
    addr = await start_server(functools.partial(create_server, clock=clock), settings)
    return Pricing(pricing_service_pb2_grpc.PricingServiceStub(channel_to(addr)), clock)


def product(product_id: str, *, list_minor=4999, launch_minor=2999, mode=pb.PRICING_MODE_LAUNCH, **kw):
    return pb.Product(
        product_id=product_id,
        display_name=kw.pop("display_name", product_id.title()),
        currency=kw.pop("currency", "USD"),
        list_price_minor=list_minor,
        launch_price_minor=launch_minor,
        base_mode=mode,
        **kw,
    )


async def fails_with(call, code: grpc.StatusCode, reason: str) -> grpc.aio.AioRpcError:
    """Awaits `call`, which must fail with `code` and ErrorInfo `reason`."""
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await call
    info = error_info(err.value)
    assert (err.value.code(), info.reason if info else None) == (code, reason), err.value.details()
    return err.value
