"""The versioned catalogue through the gRPC API: updates, audit, validation, caching, sale windows."""

from __future__ import annotations

import asyncio

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from pricing.v1 import pricing_service_pb2 as pb

from devtools.redis_procs import RedisProcess
from pricing_svc.settings import Settings
from tests.conftest import ADMIN_METADATA, base_settings
from tests.pricing.support import Pricing, fails_with, product, start_pricing, ts, unique

HOUR_MS = 3_600_000
# The history records the authenticated identity (ADMIN_TOKEN's is `admin`), never what x-caller-id claims.
CALLER = (*ADMIN_METADATA, ("x-caller-id", "alice@example.com"))


def _update(products, expected_version: int, request_id: str | None = None) -> pb.UpdatePricingConfigRequest:
    return pb.UpdatePricingConfigRequest(
        products=products, expected_version=expected_version, request_id=request_id or unique("cfg")
    )


async def test_the_default_config_is_version_0_with_the_launch_product(pricing: Pricing):
    config = await pricing.config()
    assert config.version == 0
    assert [
        (p.product_id, p.currency, p.list_price_minor, p.launch_price_minor, p.base_mode)
        for p in config.products
    ] == [("launch-product", "USD", 4999, 2999, pb.PRICING_MODE_LAUNCH)]


async def test_an_update_bumps_the_version_is_audited_and_priced_at_once(pricing: Pricing):
    pricing.clock.advance(5000)
    response = await pricing.stub.UpdatePricingConfig(
        _update([product("launch-product", mode=pb.PRICING_MODE_RRP)], 0), metadata=CALLER
    )
    written = response.config
    assert (written.version, written.updated_by, written.update_time) == (
        1,
        "admin",
        ts(pricing.clock.now_ms()),
    )
    assert await pricing.config() == written
    quote = await pricing.quote("launch-product")
    assert (quote.mode, quote.final_amount_minor, quote.config_version) == (pb.PRICING_MODE_RRP, 4999, 1)

    audit = await pricing.stub.ListPricingConfigChanges(
        pb.ListPricingConfigChangesRequest(), metadata=ADMIN_METADATA
    )
    [change] = audit.changes
    assert (change.version, change.changed_by, change.change_time, change.config) == (
        1,
        "admin",
        written.update_time,
        written,
    )


async def test_a_stale_expected_version_is_aborted_and_changes_nothing(pricing: Pricing):
    await pricing.set_products(product("launch-product", launch_minor=1999))
    before = await pricing.config()

    err = await fails_with(
        pricing.stub.UpdatePricingConfig(_update([product("launch-product")], 0), metadata=ADMIN_METADATA),
        grpc.StatusCode.ABORTED,
        "CONFIG_VERSION_MISMATCH",
    )

    assert "version 1" in err.details()
    assert await pricing.config() == before
    assert (await pricing.quote("launch-product")).final_amount_minor == 1999


async def test_concurrent_updates_from_one_version_let_exactly_one_win(pricing: Pricing):
    prices = range(1000, 1010)
    results = await asyncio.gather(
        *(
            pricing.stub.UpdatePricingConfig(
                _update([product("launch-product", launch_minor=p)], 0), metadata=ADMIN_METADATA
            )
            for p in prices
        ),
        return_exceptions=True,
    )
    winners = [r.config for r in results if isinstance(r, pb.UpdatePricingConfigResponse)]
    assert len(winners) == 1
    assert all(r.code() == grpc.StatusCode.ABORTED for r in results if isinstance(r, grpc.aio.AioRpcError))
    assert await pricing.config() == winners[0]


async def test_a_repeated_update_returns_the_first_response_and_changes_nothing(pricing: Pricing):
    request = _update([product("launch-product", launch_minor=1999)], 0, request_id="update-1")
    first = await pricing.stub.UpdatePricingConfig(request, metadata=ADMIN_METADATA)
    await pricing.set_products(product("launch-product", launch_minor=2499))
    pricing.clock.advance(1000)

    repeat = await pricing.stub.UpdatePricingConfig(request, metadata=ADMIN_METADATA)

    assert repeat.SerializeToString() == first.SerializeToString()
    assert (await pricing.config()).version == 2
    request.products[0].launch_price_minor = 999
    await fails_with(
        pricing.stub.UpdatePricingConfig(request, metadata=ADMIN_METADATA),
        grpc.StatusCode.FAILED_PRECONDITION,
        "REQUEST_ID_REUSED",
    )


async def test_the_audit_trail_pages_newest_first(pricing: Pricing):
    for price in (1001, 1002, 1003, 1004, 1005):
        await pricing.set_products(product("launch-product", launch_minor=price))
    pages, token = [], ""
    while True:
        page = await pricing.stub.ListPricingConfigChanges(
            pb.ListPricingConfigChangesRequest(page_size=2, page_token=token), metadata=ADMIN_METADATA
        )
        pages.append([c.config.products[0].launch_price_minor for c in page.changes])
        token = page.next_page_token
        if not token:
            break
    assert pages == [[1005, 1004], [1003, 1002], [1001]]


def _bad(seconds: int = 0, nanos: int = 0) -> Timestamp:
    """A Timestamp outside the range google.protobuf.Timestamp allows."""
    return Timestamp(seconds=seconds, nanos=nanos)


def _on_sale(**window) -> pb.Product:
    return product("p", sale=pb.Sale(percent_off_list=10, **window))


INVALID = [
    ("products", []),
    ("products[0].list_price_minor", [product("p", list_minor=-1)]),
    ("products[0].launch_price_minor", [product("p", launch_minor=-5)]),
    ("products[0].launch_price_minor", [product("p", launch_minor=5000)]),
    ("products[0].launch_price_minor", [product("p", launch_minor=49)]),
    ("products[0].sale.sale_price_minor", [product("p", sale=pb.Sale(sale_price_minor=5000))]),
    ("products[0].sale.sale_price_minor", [product("p", sale=pb.Sale(sale_price_minor=0))]),
    ("products[0].sale.percent_off_list", [product("p", sale=pb.Sale(percent_off_list=100))]),
    (
        "products[0].sale.percent_off_list",
        [product("p", list_minor=60, launch_minor=60, sale=pb.Sale(percent_off_list=50))],
    ),
    ("products[0].sale.price", [product("p", sale=pb.Sale(end_time=ts(10**12)))]),
    (
        "products[0].sale.end_time",
        [product("p", sale=pb.Sale(percent_off_list=10, start_time=ts(2000), end_time=ts(1000)))],
    ),
    ("products[0].base_mode", [product("p", mode=pb.PRICING_MODE_UNSPECIFIED)]),
    ("products[0].base_mode", [product("p", mode=pb.PRICING_MODE_SALE)]),
    ("products[0].base_mode", [product("p", mode=7)]),
    ("products[0].currency", [product("p", currency="usd")]),
    ("products[0].currency", [product("p", currency="XXX")]),
    ("products[0].currency", [product("p", currency="ZZZ")]),  # three capitals, but not ISO 4217
    ("products[0].currency", [product("p", currency="UDS")]),
    ("products[0].list_price_minor", [product("p", currency="JPY", list_minor=49, launch_minor=49)]),
    ("products[0].list_price_minor", [product("p", currency="HUF", list_minor=17499, launch_minor=17499)]),
    ("products[0].product_id", [product("Bad Id")]),
    ("products[1].product_id", [product("p"), product("p")]),
    ("products[0].display_name", [product("p", display_name="Nul\x00byte")]),
    ("products[0].display_name", [product("p", display_name="line\nbreak")]),
    ("products[0].display_name", [product("p", display_name="x" * 201)]),
    ("products[0].sale.start_time", [_on_sale(start_time=_bad(nanos=-1))]),
    ("products[0].sale.end_time", [_on_sale(end_time=_bad(nanos=10**9))]),
    ("products[0].sale.end_time", [_on_sale(end_time=_bad(253402300800))]),  # year 10000
    ("products[0].sale.start_time", [_on_sale(start_time=_bad(-62135596801))]),  # year 0
]


@pytest.mark.parametrize("field, products", INVALID, ids=[f"{i}-{f}" for i, (f, _) in enumerate(INVALID)])
async def test_an_invalid_config_is_rejected_by_field_and_nothing_is_written(pricing_single, field, products):
    pricing = pricing_single
    err = await fails_with(
        pricing.stub.UpdatePricingConfig(_update(products, 0), metadata=ADMIN_METADATA),
        grpc.StatusCode.INVALID_ARGUMENT,
        "INVALID_ARGUMENT",
    )
    assert f"{field}:" in err.details()
    assert (await pricing.config()).version == 0
    audit = await pricing.stub.ListPricingConfigChanges(
        pb.ListPricingConfigChangesRequest(), metadata=ADMIN_METADATA
    )
    assert list(audit.changes) == []


async def test_an_expected_version_whose_successor_overflows_int64_is_invalid(pricing_single: Pricing):
    err = await fails_with(
        pricing_single.stub.UpdatePricingConfig(_update([product("p")], 2**63 - 1), metadata=ADMIN_METADATA),
        grpc.StatusCode.INVALID_ARGUMENT,
        "INVALID_ARGUMENT",
    )
    assert "expected_version:" in err.details()
    assert (await pricing_single.config()).version == 0


async def test_a_zero_decimal_currency_has_its_own_minimum_charge(pricing: Pricing):
    await pricing.set_products(product("yen", currency="JPY", list_minor=5000, launch_minor=3000))
    await pricing.create_code("ALMOST", percent_off=99)
    quote = await pricing.quote("yen", "ALMOST")
    assert (quote.currency, quote.final_amount_minor, quote.code_discount_minor) == ("JPY", 50, 2950)


async def test_config_methods_need_the_admin_token(pricing_single: Pricing):
    await fails_with(
        pricing_single.set_products(product("launch-product", launch_minor=50), metadata=()),
        grpc.StatusCode.UNAUTHENTICATED,
        "ADMIN_TOKEN_MISSING",
    )
    assert (await pricing_single.quote("launch-product")).final_amount_minor == 2999


async def test_a_sale_switches_on_and_off_at_its_window_edges(pricing: Pricing):
    start = pricing.clock.now_ms() + HOUR_MS
    end = start + 2 * HOUR_MS
    sale = pb.Sale(sale_price_minor=1999, start_time=ts(start), end_time=ts(end))
    await pricing.set_products(product("launch-product", sale=sale))
    seen = []
    for at in (start - 1, start, end - 1, end):
        pricing.clock.set(at)
        quote = await pricing.quote("launch-product")
        seen.append((quote.mode, quote.final_amount_minor))
    assert seen == [
        (pb.PRICING_MODE_LAUNCH, 2999),
        (pb.PRICING_MODE_SALE, 1999),
        (pb.PRICING_MODE_SALE, 1999),
        (pb.PRICING_MODE_LAUNCH, 2999),
    ]


async def test_a_price_change_reaches_another_replica_by_its_version_check(
    any_redis, start_server, channel_to
):
    settings = Settings(**base_settings(**any_redis, pricing_config_refresh_ms=50))
    writer = await start_pricing(start_server, channel_to, settings)
    reader = await start_pricing(start_server, channel_to, settings)
    assert (await reader.quote("launch-product")).final_amount_minor == 2999

    await writer.set_products(product("launch-product", launch_minor=1999))

    for _ in range(500):  # 50 ms is the bound; 5 s leaves room for a busy CI machine
        quote = await reader.quote("launch-product")
        if quote.config_version == 1:
            break
        await asyncio.sleep(0.01)
    assert (quote.config_version, quote.final_amount_minor) == (1, 1999)


async def test_quotes_without_a_code_are_served_from_memory_while_redis_is_down(
    tmp_path, start_server, channel_to
):
    with RedisProcess(tmp_path, appendonly=False) as own_redis:
        settings = Settings(**base_settings(redis_url=own_redis.url))
        pricing = await start_pricing(start_server, channel_to, settings)
        await pricing.set_products(product("launch-product", launch_minor=1999))
        own_redis.stop()

        assert (await pricing.quote("launch-product")).final_amount_minor == 1999
        await fails_with(
            pricing.quote("launch-product", "SAVE10"), grpc.StatusCode.UNAVAILABLE, "BACKEND_UNAVAILABLE"
        )
