"""Reserve, confirm and release through the gRPC API: exact caps under concurrency, expiry, idempotency."""

from __future__ import annotations

import asyncio

import grpc
from pricing.v1 import pricing_service_pb2 as pb

from svckit.status import error_info
from tests.pricing.support import Pricing, fails_with, product

FP = grpc.StatusCode.FAILED_PRECONDITION
RESERVED, CONFIRMED, RELEASED = (
    pb.RESERVATION_STATUS_RESERVED,
    pb.RESERVATION_STATUS_CONFIRMED,
    pb.RESERVATION_STATUS_RELEASED,
)


async def _race(pricing: Pricing, code: str, orders: list[str], account=lambda order: f"acct-{order}"):
    """Reserves for every order at once; returns the orders that got one, and every failure reason."""
    results = await asyncio.gather(
        *(pricing.reserve(code, order, account_id=account(order)) for order in orders), return_exceptions=True
    )
    won = [order for order, result in zip(orders, results, strict=True) if isinstance(result, pb.Reservation)]
    reasons = {error_info(r).reason for r in results if isinstance(r, grpc.aio.AioRpcError)}
    assert all(isinstance(r, pb.Reservation | grpc.aio.AioRpcError) for r in results)
    return won, reasons


async def test_a_capped_code_is_reserved_exactly_up_to_its_cap_under_concurrency(pricing: Pricing):
    await pricing.create_code("LAST10", max_redemptions=10)

    won, reasons = await _race(pricing, "last10", [f"order-{i}" for i in range(1000)])
    assert len(won) == 10 and reasons == {"DISCOUNT_CODE_EXHAUSTED"}

    await asyncio.gather(*(pricing.release("LAST10", order) for order in won[:3]))
    won_again, _ = await _race(pricing, "LAST10", [f"late-{i}" for i in range(200)])
    assert len(won_again) == 3
    code = await pricing.get_code("LAST10")
    assert (code.reserved_count, code.redeemed_count) == (10, 0)


async def test_confirmed_redemptions_count_against_the_cap(pricing: Pricing):
    await pricing.create_code("TWO", max_redemptions=2)
    for order in ("a", "b"):
        await pricing.reserve("TWO", order, account_id=f"acct-{order}")
        await pricing.confirm("TWO", order)
    await fails_with(pricing.reserve("TWO", "c", account_id="acct-c"), FP, "DISCOUNT_CODE_EXHAUSTED")
    assert (await pricing.quote("launch-product", "TWO")).code_not_applied_reason == "DISCOUNT_CODE_EXHAUSTED"
    code = await pricing.get_code("TWO")
    assert (code.reserved_count, code.redeemed_count) == (0, 2)


async def test_one_account_cannot_hold_two_redemptions_of_a_once_per_account_code(pricing: Pricing):
    await pricing.create_code("ONCE", max_per_account=1)

    won, reasons = await _race(pricing, "ONCE", [f"order-{i}" for i in range(50)], account=lambda _: "acct-x")
    assert len(won) == 1 and reasons == {"DISCOUNT_CODE_ACCOUNT_LIMIT_REACHED"}
    assert (await pricing.reserve("ONCE", "other-account-order", account_id="acct-y")).status == RESERVED

    await pricing.confirm("ONCE", won[0])
    await fails_with(
        pricing.reserve("ONCE", "order-late", account_id="acct-x"), FP, "DISCOUNT_CODE_ACCOUNT_LIMIT_REACHED"
    )
    quote = await pricing.quote("launch-product", "ONCE", "acct-x")
    assert quote.code_not_applied_reason == "DISCOUNT_CODE_ACCOUNT_LIMIT_REACHED"


async def test_releasing_gives_an_account_its_redemption_back(pricing: Pricing):
    await pricing.create_code("ONCE", max_per_account=1)
    await pricing.reserve("ONCE", "first", account_id="acct-x")
    await pricing.release("ONCE", "first")
    assert (await pricing.reserve("ONCE", "second", account_id="acct-x")).status == RESERVED


async def test_an_unconfirmed_reservation_expires_and_frees_its_capacity(pricing: Pricing):
    await pricing.create_code("SOLO", max_redemptions=1, max_per_account=1)
    held = await pricing.reserve("SOLO", "slow-order", account_id="acct-x", ttl_seconds=60)
    assert held.expire_time.ToMilliseconds() == pricing.clock.now_ms() + 60_000
    await fails_with(
        pricing.reserve("SOLO", "fast-order", account_id="acct-y"), FP, "DISCOUNT_CODE_EXHAUSTED"
    )

    pricing.clock.advance(59_999)
    assert (await pricing.get_code("SOLO")).reserved_count == 1
    pricing.clock.advance(1)
    assert (await pricing.get_code("SOLO")).reserved_count == 0
    assert (await pricing.quote("launch-product", "SOLO", "acct-x")).code_not_applied_reason == ""
    assert (await pricing.reserve("SOLO", "fast-order", account_id="acct-y")).status == RESERVED

    await fails_with(pricing.confirm("SOLO", "slow-order"), FP, "RESERVATION_EXPIRED")
    assert (await pricing.release("SOLO", "slow-order")).status == RELEASED
    assert (await pricing.get_code("SOLO")).reserved_count == 1


async def test_an_expired_reservation_gives_the_account_its_redemption_back_exactly_once(pricing: Pricing):
    await pricing.create_code("ONCE", max_per_account=1)
    await pricing.reserve("ONCE", "lapsed", account_id="acct-x", ttl_seconds=60)
    pricing.clock.advance(60_000)
    for i in range(3):  # every write purges expired reservations; each must be purged once only
        await pricing.reserve("ONCE", f"other-{i}", account_id=f"acct-{i}")
    await pricing.release("ONCE", "lapsed")

    assert (await pricing.reserve("ONCE", "renewed", account_id="acct-x")).status == RESERVED
    await fails_with(
        pricing.reserve("ONCE", "greedy", account_id="acct-x"), FP, "DISCOUNT_CODE_ACCOUNT_LIMIT_REACHED"
    )


async def test_confirm_and_release_are_idempotent_per_order(pricing: Pricing):
    await pricing.create_code("SAVE", max_redemptions=5)
    reserved = await pricing.reserve("SAVE", "order-1")
    assert await pricing.reserve("SAVE", "order-1") == reserved  # a second checkout attempt, same order

    confirmed = await pricing.confirm("SAVE", "order-1")
    assert confirmed.status == CONFIRMED
    assert await pricing.confirm("save", "order-1") == confirmed
    assert await pricing.reserve("SAVE", "order-1") == confirmed
    await fails_with(pricing.release("SAVE", "order-1"), FP, "RESERVATION_CONFIRMED")

    await pricing.reserve("SAVE", "order-2")
    released = await pricing.release("SAVE", "order-2")
    assert released.status == RELEASED
    assert await pricing.release("SAVE", "order-2") == released
    await fails_with(pricing.confirm("SAVE", "order-2"), FP, "RESERVATION_RELEASED")

    code = await pricing.get_code("SAVE")
    assert (code.reserved_count, code.redeemed_count) == (0, 1)


async def test_a_repeated_request_id_returns_the_first_response_and_changes_nothing(pricing: Pricing):
    await pricing.create_code("SAVE", max_redemptions=5)
    first = await pricing.reserve("SAVE", "order-1", request_id="req-1")
    await pricing.confirm("SAVE", "order-1")
    assert (
        await pricing.reserve("SAVE", "order-1", request_id="req-1") == first
    )  # still RESERVED, as first sent

    await fails_with(pricing.reserve("SAVE", "order-2", request_id="req-1"), FP, "REQUEST_ID_REUSED")
    await fails_with(pricing.release("SAVE", "order-1", request_id="req-1"), FP, "REQUEST_ID_REUSED")
    code = await pricing.get_code("SAVE")
    assert (code.reserved_count, code.redeemed_count) == (0, 1)


async def test_an_order_holds_a_code_for_one_account_and_product(pricing: Pricing):
    await pricing.set_products(product("launch-product"), product("other-product"))
    await pricing.create_code("SAVE")
    await pricing.reserve("SAVE", "order-1", account_id="acct-a")
    await fails_with(pricing.reserve("SAVE", "order-1", account_id="acct-b"), FP, "RESERVATION_CONFLICT")
    await fails_with(
        pricing.reserve("SAVE", "order-1", account_id="acct-a", product_id="other-product"),
        FP,
        "RESERVATION_CONFLICT",
    )
    await fails_with(
        pricing.confirm("SAVE", "order-unknown"), grpc.StatusCode.NOT_FOUND, "RESERVATION_NOT_FOUND"
    )
    await fails_with(
        pricing.release("SAVE", "order-unknown"), grpc.StatusCode.NOT_FOUND, "RESERVATION_NOT_FOUND"
    )
    assert (await pricing.get_code("SAVE")).reserved_count == 1


async def test_malformed_reservation_requests_are_rejected_and_hold_nothing(pricing_single: Pricing):
    pricing = pricing_single
    await pricing.create_code("SAVE", max_redemptions=1)
    bad = [
        dict(code="x", order_id="o"),
        dict(code="SAVE", order_id=""),
        dict(code="SAVE", order_id="o", account_id="not valid"),
        dict(code="SAVE", order_id="o", product_id="Bad Product"),
        dict(code="SAVE", order_id="o", ttl_seconds=59),
        dict(code="SAVE", order_id="o", ttl_seconds=2 * 86_400 + 1),
        dict(code="SAVE", order_id="o", request_id=""),
    ]
    for fields in bad:
        await fails_with(pricing.reserve(**fields), grpc.StatusCode.INVALID_ARGUMENT, "INVALID_ARGUMENT")
    await fails_with(
        pricing.reserve("SAVE", "o", product_id="no-such-product"),
        grpc.StatusCode.NOT_FOUND,
        "PRODUCT_NOT_FOUND",
    )
    no_request_id = pb.ConfirmDiscountCodeRequest(code="SAVE", order_id="o")
    await fails_with(
        pricing.stub.ConfirmDiscountCode(no_request_id), grpc.StatusCode.INVALID_ARGUMENT, "INVALID_ARGUMENT"
    )
    assert (await pricing.get_code("SAVE")).reserved_count == 0


async def test_an_order_holding_one_code_cannot_reserve_another(pricing: Pricing):
    await pricing.create_code("FIRST")
    await pricing.create_code("SECOND", max_redemptions=1)
    await pricing.reserve("FIRST", "order-1")
    await fails_with(pricing.reserve("SECOND", "order-1"), FP, "RESERVATION_CONFLICT")
    await pricing.confirm("FIRST", "order-1")
    await fails_with(pricing.reserve("SECOND", "order-1"), FP, "RESERVATION_CONFLICT")
    assert (await pricing.get_code("SECOND")).reserved_count == 0
    await pricing.reserve("SECOND", "order-2")  # the cap was not spent on the refused order


async def test_a_code_the_quote_would_not_apply_is_refused_and_spends_no_redemption(pricing: Pricing):
    on_sale = product("launch-product", mode=pb.PRICING_MODE_RRP, sale=pb.Sale(sale_price_minor=2000))
    await pricing.set_products(on_sale)
    await pricing.create_code("TENOFF", percent_off=10, max_redemptions=1)  # 4999 less 10 % is above 2000
    quote = await pricing.quote("launch-product", "TENOFF")
    assert (quote.final_amount_minor, quote.code_not_applied_reason) == (2000, "DISCOUNT_CODE_NOT_APPLICABLE")

    await fails_with(pricing.reserve("TENOFF", "order-1"), FP, "DISCOUNT_CODE_NOT_APPLICABLE")
    code = await pricing.get_code("TENOFF")
    assert (code.reserved_count, code.redeemed_count) == (0, 0)
