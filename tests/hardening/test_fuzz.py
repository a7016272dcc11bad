"""Hostile values for every field of every RPC of the three services, generated from the protos.

Every answer is a success or an error with a google.rpc.ErrorInfo, never INTERNAL or UNKNOWN (or a
caller's DEADLINE_EXCEEDED), and every service still answers its health check afterwards.
"""

from __future__ import annotations

import time

import grpc
import pytest
from google.protobuf import descriptor_pool, message
from google.protobuf.empty_pb2 import Empty
from google.protobuf.timestamp_pb2 import Timestamp
from grpc_health.v1 import health_pb2, health_pb2_grpc
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pricing.v1 import pricing_service_pb2 as pri

from devtools.fake_stripe import FakeStripe
from svckit.status import error_info
from tests.hardening.proto_strategies import messages
from tests.hardening.support import SERVICES, Call, invoke, settings_for

EXAMPLES_PER_METHOD = 100
_SERVER_FAULTS = {grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN, grpc.StatusCode.DEADLINE_EXCEEDED}
_sent = {"inputs": 0}


def _ts(seconds: int, nanos: int = 0) -> Timestamp:
    return Timestamp(seconds=seconds, nanos=nanos)


_PRODUCT = dict(
    product_id="p1",
    display_name="P1",
    currency="USD",
    list_price_minor=4999,
    launch_price_minor=2999,
    base_mode=pri.PRICING_MODE_LAUNCH,
)
_CODE = dict(code="SAVE10", kind=pri.DISCOUNT_KIND_PERCENT, percent_off=10)

# Found by this fuzz in pricing_svc (Timestamp.ToMilliseconds raised, giving INTERNAL); now refused by field.
OUT_OF_RANGE_TIMESTAMPS = {
    "end_time after year 9999": (
        "/pricing.v1.PricingService/CreateDiscountCode",
        pri.CreateDiscountCodeRequest(
            discount_code=pri.DiscountCode(**_CODE, end_time=_ts(253_402_300_800)), request_id="fuzz-1"
        ),
    ),
    "start_time nanos 1e9": (
        "/pricing.v1.PricingService/CreateDiscountCode",
        pri.CreateDiscountCodeRequest(
            discount_code=pri.DiscountCode(**_CODE, start_time=_ts(0, 1_000_000_000)), request_id="fuzz-2"
        ),
    ),
    "sale end_time nanos -1": (
        "/pricing.v1.PricingService/UpdatePricingConfig",
        pri.UpdatePricingConfigRequest(
            products=[
                pri.Product(**_PRODUCT, sale=pri.Sale(sale_price_minor=1999, end_time=_ts(1_800_000_000, -1)))
            ]
        ),
    ),
}


def _methods() -> list[tuple[str, str]]:
    pool = descriptor_pool.Default()
    return [
        (service, f"/{full}/{m.name}")
        for service, (*_, full) in SERVICES.items()
        for m in pool.FindServiceByName(full).methods
    ]


@pytest.fixture(scope="module")
async def fake_stripe():
    async with FakeStripe() as fake:
        yield fake


@pytest.fixture
async def channels(single_redis, start_server, channel_to, fake_stripe) -> dict[str, grpc.aio.Channel]:
    """The three services wired together as in production, payment_svc talking to the fake Stripe."""
    pricing = await start_server(SERVICES["pricing"][0], settings_for("pricing", single_redis))
    balance = await start_server(SERVICES["balance"][0], settings_for("balance", single_redis))
    payment_settings = settings_for(
        "payment",
        single_redis,
        stripe_api_base=fake_stripe.url,
        pricing_service_addr=pricing,
        balance_service_addr=balance,
        stripe_max_network_retries=0,
    )
    payment = await start_server(SERVICES["payment"][0], payment_settings)
    return {name: channel_to(addr) for name, addr in zip(SERVICES, (balance, pricing, payment), strict=False)}


async def _assert_all_serving(channels) -> None:
    for name, channel in channels.items():
        response = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5)
        assert response.status == health_pb2.HealthCheckResponse.SERVING, name


_SETTINGS = settings(
    max_examples=EXAMPLES_PER_METHOD,
    deadline=None,
    database=None,
    derandomize=True,  # the same inputs on every run: CI stays deterministic
    suppress_health_check=list(HealthCheck),
)


def draw(strategy: st.SearchStrategy, n: int = EXAMPLES_PER_METHOD) -> list:
    """`n` examples from hypothesis's generator (the calls are async, so no shrinking: failures are
    reported whole)."""
    drawn = []

    @_SETTINGS
    @given(strategy)
    def collect(example) -> None:
        drawn.append(example)

    collect()
    return drawn[:n]


def _failure(method: str, request: message.Message | None, raw: bytes | None, result) -> str | None:
    """Why this answer breaks the rule, or None."""
    if not isinstance(result, grpc.aio.AioRpcError):
        return None
    if result.code() in _SERVER_FAULTS or error_info(result) is None:
        shown = repr(raw) if raw is not None else repr(request)[:300]
        return f"{result.code().name} {result.details()[:200]!r} for {shown}"
    return None


@pytest.mark.parametrize("service, method", _methods(), ids=[m for _, m in _methods()])
async def test_hostile_fields_never_reach_internal(service, method, channels):
    _, name, rpc = method.split("/")
    descriptor = descriptor_pool.Default().FindServiceByName(name).FindMethodByName(rpc)
    started = time.perf_counter()
    inputs = [(r, None) for r in draw(messages(descriptor.input_type))]
    inputs += [(None, b) for b in draw(st.binary(max_size=64), n=EXAMPLES_PER_METHOD // 4)]
    failures = []
    for request, raw in inputs:
        call = Call(method, request if request is not None else Empty(), admin=True)
        result = await invoke(channels[service], call, raw=raw, deadline_s=10)
        if (why := _failure(method, request, raw, result)) is not None:
            failures.append(why)
    _sent["inputs"] += len(inputs)
    await _assert_all_serving(channels)
    elapsed = time.perf_counter() - started
    print(f"\n{method}: {len(inputs)} inputs ({_sent['inputs']} so far) in {elapsed:.2f} s")
    assert failures == []


@pytest.mark.parametrize("method, request_", OUT_OF_RANGE_TIMESTAMPS.values(), ids=OUT_OF_RANGE_TIMESTAMPS)
async def test_out_of_range_timestamps_are_field_violations(method, request_, channels):
    result = await invoke(channels["pricing"], Call(method, request_, admin=True))
    assert isinstance(result, grpc.aio.AioRpcError)
    assert (result.code(), error_info(result).reason) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "INVALID_ARGUMENT",
    )
