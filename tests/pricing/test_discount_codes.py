"""Discount codes through the gRPC API: names, limits, the reasons a code is refused, admin CRUD."""

from __future__ import annotations

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from pricing.v1 import pricing_service_pb2 as pb

from tests.conftest import ADMIN_METADATA
from tests.pricing.support import Pricing, fails_with, product, ts, unique

FP = grpc.StatusCode.FAILED_PRECONDITION
HOUR_MS = 3_600_000


async def _refusal_setups(pricing: Pricing) -> dict[str, str]:
    """Codes that each fail for `launch-product`, account acct-1, for one named reason."""
    now = pricing.clock.now_ms()
    await pricing.set_products(product("launch-product"), product("other-product"))
    await pricing.create_code("expired", end_time=ts(now))
    await pricing.create_code("later", start_time=ts(now + 1))
    await pricing.create_code("off")
    await pricing.stub.DisableDiscountCode(
        pb.DisableDiscountCodeRequest(code="OFF", request_id=unique("disable")), metadata=ADMIN_METADATA
    )
    await pricing.create_code("gone", max_redemptions=1)
    await pricing.reserve("gone", unique("order"), account_id="someone-else")
    await pricing.create_code("mine", max_per_account=1)
    await pricing.reserve("mine", unique("order"), account_id="acct-1")
    await pricing.create_code("elsewhere", product_ids=["other-product"])
    await pricing.create_code("pricey", min_price_minor=3000)
    await pricing.create_code("euros", kind=pb.DISCOUNT_KIND_FIXED, amount_off_minor=100, currency="EUR")
    return {
        "EXPIRED": "DISCOUNT_CODE_EXPIRED",
        "LATER": "DISCOUNT_CODE_NOT_YET_VALID",
        "OFF": "DISCOUNT_CODE_DISABLED",
        "GONE": "DISCOUNT_CODE_EXHAUSTED",
        "MINE": "DISCOUNT_CODE_ACCOUNT_LIMIT_REACHED",
        "ELSEWHERE": "DISCOUNT_CODE_NOT_APPLICABLE",
        "PRICEY": "DISCOUNT_CODE_NOT_APPLICABLE",
        "EUROS": "DISCOUNT_CODE_NOT_APPLICABLE",
    }


async def test_a_code_that_cannot_apply_leaves_the_quote_undiscounted_and_says_why(pricing: Pricing):
    expected = {**await _refusal_setups(pricing), "NOSUCHCODE": "DISCOUNT_CODE_NOT_FOUND"}

    quotes = {code: await pricing.quote("launch-product", code.lower(), "acct-1") for code in expected}

    assert {code: q.code_not_applied_reason for code, q in quotes.items()} == expected
    assert {(q.discount_code, q.code_discount_minor, q.final_amount_minor) for q in quotes.values()} == {
        ("", 0, 2999)
    }


async def test_reserving_a_code_that_cannot_apply_fails_with_its_reason_and_holds_nothing(pricing: Pricing):
    expected = await _refusal_setups(pricing)
    before = {code: await pricing.get_code(code) for code in expected}

    for code, reason in expected.items():
        await fails_with(pricing.reserve(code, unique("order"), account_id="acct-1"), FP, reason)
    await fails_with(
        pricing.reserve("nosuchcode", "o-1"), grpc.StatusCode.NOT_FOUND, "DISCOUNT_CODE_NOT_FOUND"
    )

    assert {code: await pricing.get_code(code) for code in expected} == before


async def test_a_code_is_valid_from_its_start_until_just_before_its_end(pricing: Pricing):
    start = pricing.clock.now_ms() + HOUR_MS
    await pricing.create_code("window", start_time=ts(start), end_time=ts(start + HOUR_MS))
    reasons = []
    for at in (start - 1, start, start + HOUR_MS - 1, start + HOUR_MS):
        pricing.clock.set(at)
        reasons.append((await pricing.quote("launch-product", "window")).code_not_applied_reason)
    assert reasons == ["DISCOUNT_CODE_NOT_YET_VALID", "", "", "DISCOUNT_CODE_EXPIRED"]


async def test_codes_are_case_insensitive_and_stored_upper_case(pricing: Pricing):
    created = await pricing.create_code("Summer_Sale-2026", percent_off=15)
    assert created.code == "SUMMER_SALE-2026"
    assert (await pricing.get_code("summer_sale-2026")) == created
    await fails_with(
        pricing.create_code("SUMMER_sale-2026"),
        grpc.StatusCode.ALREADY_EXISTS,
        "DISCOUNT_CODE_ALREADY_EXISTS",
    )
    assert (await pricing.quote("launch-product", "sUmMeR_SaLe-2026")).discount_code == "SUMMER_SALE-2026"


async def test_create_is_idempotent_by_request_id(pricing: Pricing):
    request = pb.CreateDiscountCodeRequest(
        discount_code=pb.DiscountCode(code="again", kind=pb.DISCOUNT_KIND_PERCENT, percent_off=5),
        request_id="create-again",
    )
    first = await pricing.stub.CreateDiscountCode(request, metadata=ADMIN_METADATA)
    pricing.clock.advance(1000)
    repeat = await pricing.stub.CreateDiscountCode(request, metadata=ADMIN_METADATA)
    assert repeat.SerializeToString() == first.SerializeToString()
    request.discount_code.percent_off = 6
    await fails_with(
        pricing.stub.CreateDiscountCode(request, metadata=ADMIN_METADATA), FP, "REQUEST_ID_REUSED"
    )
    assert (await pricing.get_code("again")).percent_off == 5


BAD_CODES = [
    ("discount_code.code", dict(code="ab")),
    ("discount_code.code", dict(code="ßß")),  # upper() would store SSSS, which nobody typed
    ("discount_code.code", dict(code="ﬁve")),  # the ligature would become FIVE
    ("discount_code.currency", dict(kind=pb.DISCOUNT_KIND_FIXED, amount_off_minor=5, currency="ZZZ")),
    ("discount_code.start_time", dict(start_time=Timestamp(seconds=0, nanos=-1))),
    ("discount_code.end_time", dict(end_time=Timestamp(seconds=253402300800))),
    ("discount_code.code", dict(code="no spaces")),
    ("discount_code.code", dict(code="x" * 33)),
    ("discount_code.kind", dict(kind=pb.DISCOUNT_KIND_UNSPECIFIED)),
    ("discount_code.percent_off", dict(percent_off=0)),
    ("discount_code.percent_off", dict(percent_off=101)),
    ("discount_code.amount_off_minor", dict(kind=pb.DISCOUNT_KIND_FIXED, currency="USD", percent_off=0)),
    ("discount_code.currency", dict(kind=pb.DISCOUNT_KIND_FIXED, amount_off_minor=5, percent_off=0)),
    ("discount_code.currency", dict(kind=pb.DISCOUNT_KIND_FIXED, amount_off_minor=5, currency="usd")),
    ("discount_code.end_time", dict(start_time=ts(2000), end_time=ts(2000))),
    ("discount_code.max_redemptions", dict(max_redemptions=-1)),
    ("discount_code.max_per_account", dict(max_per_account=-1)),
    ("discount_code.min_price_minor", dict(min_price_minor=-1)),
    ("discount_code.product_ids[0]", dict(product_ids=["Not A Product"])),
    ("discount_code.product_ids", dict(product_ids=["a", "a"])),
]


@pytest.mark.parametrize("field, fields", BAD_CODES, ids=[f for f, _ in BAD_CODES])
async def test_an_invalid_code_is_rejected_by_field_and_nothing_is_written(pricing_single, field, fields):
    pricing = pricing_single
    definition = pb.DiscountCode(code="GOODNAME", kind=pb.DISCOUNT_KIND_PERCENT, percent_off=10)
    for name, value in fields.items():
        if isinstance(value, list):
            getattr(definition, name).extend(value)
        elif hasattr(value, "CopyFrom"):
            getattr(definition, name).CopyFrom(value)
        else:
            setattr(definition, name, value)
    request = pb.CreateDiscountCodeRequest(discount_code=definition, request_id=unique("bad"))
    err = await fails_with(
        pricing.stub.CreateDiscountCode(request, metadata=ADMIN_METADATA),
        grpc.StatusCode.INVALID_ARGUMENT,
        "INVALID_ARGUMENT",
    )
    assert field in err.details()
    listed = await pricing.stub.ListDiscountCodes(pb.ListDiscountCodesRequest(), metadata=ADMIN_METADATA)
    assert list(listed.discount_codes) == []


async def test_codes_are_listed_in_code_order_page_by_page(pricing: Pricing):
    names = [f"CODE{i:02d}" for i in range(7)]
    for name in reversed(names):
        await pricing.create_code(name)
    seen, token = [], ""
    while True:
        page = await pricing.stub.ListDiscountCodes(
            pb.ListDiscountCodesRequest(page_size=3, page_token=token), metadata=ADMIN_METADATA
        )
        seen.append([c.code for c in page.discount_codes])
        token = page.next_page_token
        if not token:
            break
    assert seen == [names[0:3], names[3:6], names[6:7]]
    await fails_with(
        pricing.stub.ListDiscountCodes(
            pb.ListDiscountCodesRequest(page_token="junk"), metadata=ADMIN_METADATA
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
        "INVALID_ARGUMENT",
    )


async def test_a_page_size_above_the_maximum_is_coerced_down(pricing_single: Pricing):
    await pricing_single.create_code("ONLY")
    page = await pricing_single.stub.ListDiscountCodes(
        pb.ListDiscountCodesRequest(page_size=10**6), metadata=ADMIN_METADATA
    )
    assert ([c.code for c in page.discount_codes], page.next_page_token) == (["ONLY"], "")


async def test_disabling_stops_new_reservations_but_keeps_open_ones_confirmable(pricing: Pricing):
    await pricing.create_code("closing")
    await pricing.reserve("closing", "order-open")
    request = pb.DisableDiscountCodeRequest(code="closing", request_id="disable-1")
    disabled = (await pricing.stub.DisableDiscountCode(request, metadata=ADMIN_METADATA)).discount_code
    assert (disabled.disabled, disabled.reserved_count) == (True, 1)

    await fails_with(pricing.reserve("closing", "order-new"), FP, "DISCOUNT_CODE_DISABLED")
    assert (await pricing.confirm("closing", "order-open")).status == pb.RESERVATION_STATUS_CONFIRMED
    code = await pricing.get_code("closing")
    assert (code.disabled, code.reserved_count, code.redeemed_count) == (True, 0, 1)
    await fails_with(
        pricing.stub.DisableDiscountCode(
            pb.DisableDiscountCodeRequest(code="nosuch", request_id="disable-2"), metadata=ADMIN_METADATA
        ),
        grpc.StatusCode.NOT_FOUND,
        "DISCOUNT_CODE_NOT_FOUND",
    )


async def test_code_admin_methods_need_the_admin_token(pricing: Pricing):
    request = pb.CreateDiscountCodeRequest(
        discount_code=pb.DiscountCode(code="SNEAKY", kind=pb.DISCOUNT_KIND_PERCENT, percent_off=100),
        request_id="sneaky",
    )
    await fails_with(
        pricing.stub.CreateDiscountCode(request), grpc.StatusCode.UNAUTHENTICATED, "ADMIN_TOKEN_MISSING"
    )
    assert (
        await pricing.quote("launch-product", "SNEAKY")
    ).code_not_applied_reason == "DISCOUNT_CODE_NOT_FOUND"
