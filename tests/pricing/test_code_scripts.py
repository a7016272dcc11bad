"""Each discount-code script run directly against a real Redis (single and Cluster), refusals included."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from redis.exceptions import ResponseError

from pricing_svc import errors
from pricing_svc.code_store import PURGE_BATCH, CodeKeys, CodeStore, order_key, request_key
from pricing_svc.codes import PERCENT, DiscountCode, ReservationStatus
from pricing_svc.settings import Settings
from svckit.errors import RequestIdReused
from svckit.redis_client import RedisClient, connect, script_pipe
from tests.conftest import base_settings

NOW = 1_800_000_000_000
TTL_MS = 600_000
REQUEST_TTL_MS = 86_400_000
RETENTION_MS = 3_600_000


@dataclass
class Codes:
    store: CodeStore
    redis: RedisClient
    requests: int = 0

    def request_id(self) -> str:
        self.requests += 1
        return f"req-{self.requests}"

    async def create(self, code: str, **terms) -> None:
        definition = DiscountCode(code=code, kind=PERCENT, percent_off=10, create_ms=NOW, **terms)
        await self.store.create(definition, request_id=self.request_id())

    async def reserve(
        self, code: str, order: str, account: str = "acct-1", *, now: int = NOW, terms_refusal=""
    ):
        return await self.store.reserve(
            code,
            order_id=order,
            account_id=account,
            product_id="launch-product",
            ttl_ms=TTL_MS,
            request_id=self.request_id(),
            now_ms=now,
            terms_refusal=terms_refusal,
        )

    async def confirm(self, code: str, order: str, *, now: int = NOW):
        return await self.store.confirm(code, order_id=order, request_id=self.request_id(), now_ms=now)

    async def release(self, code: str, order: str, *, now: int = NOW):
        return await self.store.release(code, order_id=order, request_id=self.request_id(), now_ms=now)


@pytest.fixture
async def codes(any_redis) -> AsyncIterator[Codes]:
    redis = connect(Settings(**base_settings(**any_redis)))
    pipe = script_pipe(redis)
    store = CodeStore(redis, pipe, request_ttl_ms=REQUEST_TTL_MS, order_retention_ms=RETENTION_MS)
    yield Codes(store, redis)
    if pipe is not None:
        await pipe.aclose()
    await redis.aclose()


async def test_create_stores_and_lists_a_code_once_and_replays_its_first_reply(codes: Codes):
    definition = DiscountCode(code="SAVE", kind=PERCENT, percent_off=10, create_ms=NOW)
    first = await codes.store.create(definition, request_id="c-1")
    assert (first.definition, first.disabled, first.reserved_count, first.redeemed_count) == (
        definition,
        False,
        0,
        0,
    )
    assert await codes.store.create(definition, request_id="c-1") == first
    with pytest.raises(errors.DiscountCodeAlreadyExists):
        await codes.store.create(definition, request_id="c-2")
    with pytest.raises(RequestIdReused):
        await codes.store.create(DiscountCode(code="SAVE", kind=PERCENT, percent_off=11), request_id="c-1")
    assert await codes.store.list_names(after="", count=10) == ["SAVE"]


async def test_disable_refuses_an_unknown_code_and_marks_a_known_one(codes: Codes):
    with pytest.raises(errors.DiscountCodeNotFound):
        await codes.store.disable("NOPE", request_id="d-1", now_ms=NOW)
    await codes.create("SAVE")
    assert (await codes.store.disable("SAVE", request_id="d-2", now_ms=NOW)).disabled
    with pytest.raises(errors.DiscountCodeDisabled):
        await codes.reserve("SAVE", "o-1")


async def test_read_counts_live_and_confirmed_redemptions_and_skips_lapsed_ones(codes: Codes):
    with pytest.raises(errors.DiscountCodeNotFound):
        await codes.store.get("NOPE", now_ms=NOW)
    await codes.create("SAVE", max_per_account=5)
    await codes.reserve("SAVE", "o-1")
    await codes.reserve("SAVE", "o-2")
    await codes.confirm("SAVE", "o-2")
    await codes.reserve("SAVE", "o-3", account="acct-1x")  # a longer account id sharing the prefix
    later = await codes.store.get("SAVE", now_ms=NOW + TTL_MS, account_id="acct-1")
    now = await codes.store.get("SAVE", now_ms=NOW, account_id="acct-1")
    assert (now.reserved_count, now.redeemed_count, now.held_by_account) == (2, 1, 2)
    assert (later.reserved_count, later.redeemed_count, later.held_by_account) == (0, 1, 1)


async def test_reserve_refuses_with_the_callers_terms_refusal_and_writes_nothing(codes: Codes):
    await codes.create("SAVE")
    with pytest.raises(errors.DiscountCodeNotApplicable):
        await codes.reserve("SAVE", "o-1", terms_refusal="DISCOUNT_CODE_NOT_APPLICABLE")
    assert await codes.redis.exists(order_key("o-1")) == 0
    assert (await codes.store.get("SAVE", now_ms=NOW)).reserved_count == 0


async def test_reserve_keeps_the_global_and_the_per_account_caps(codes: Codes):
    await codes.create("CAPPED", max_redemptions=2, max_per_account=1)
    await codes.reserve("CAPPED", "o-1", account="a")
    with pytest.raises(errors.DiscountCodeAccountLimitReached):
        await codes.reserve("CAPPED", "o-2", account="a")
    await codes.reserve("CAPPED", "o-3", account="b")
    with pytest.raises(errors.DiscountCodeExhausted):
        await codes.reserve("CAPPED", "o-4", account="c")


async def test_an_order_that_holds_one_code_cannot_reserve_another(codes: Codes):
    await codes.create("FIRST")
    await codes.create("SECOND")
    await codes.reserve("FIRST", "o-1")
    with pytest.raises(errors.ReservationConflict):
        await codes.reserve("SECOND", "o-1")
    await codes.confirm("FIRST", "o-1")
    with pytest.raises(errors.ReservationConflict):
        await codes.reserve("SECOND", "o-1")
    assert (await codes.store.get("SECOND", now_ms=NOW)).reserved_count == 0


async def test_an_order_whose_reservation_ended_may_reserve_another_code(codes: Codes):
    await codes.create("FIRST")
    await codes.create("SECOND")
    await codes.reserve("FIRST", "o-1")
    await codes.release("FIRST", "o-1")
    assert (await codes.reserve("SECOND", "o-1")).status is ReservationStatus.RESERVED
    with pytest.raises(errors.ReservationNotFound):  # the order now holds SECOND, not FIRST
        await codes.confirm("FIRST", "o-1")


async def test_confirm_and_release_refuse_by_the_reservations_state(codes: Codes):
    await codes.create("SAVE")
    with pytest.raises(errors.ReservationNotFound):
        await codes.confirm("SAVE", "o-none")
    with pytest.raises(errors.ReservationNotFound):
        await codes.release("SAVE", "o-none")
    await codes.reserve("SAVE", "o-released")
    await codes.release("SAVE", "o-released")
    with pytest.raises(errors.ReservationReleased):
        await codes.confirm("SAVE", "o-released")
    await codes.reserve("SAVE", "o-lapsed")
    with pytest.raises(errors.ReservationExpired):
        await codes.confirm("SAVE", "o-lapsed", now=NOW + TTL_MS)
    assert (await codes.release("SAVE", "o-lapsed", now=NOW + TTL_MS)).status is ReservationStatus.RELEASED
    await codes.reserve("SAVE", "o-confirmed")
    await codes.confirm("SAVE", "o-confirmed")
    with pytest.raises(errors.ReservationConfirmed):
        await codes.release("SAVE", "o-confirmed")
    with pytest.raises(errors.DiscountCodeNotFound):
        await codes.confirm("NOPE", "o-confirmed")


async def test_request_and_order_records_expire(codes: Codes):
    await codes.create("SAVE")
    await codes.store.reserve(
        "SAVE",
        order_id="o-1",
        account_id="acct-1",
        product_id="launch-product",
        ttl_ms=TTL_MS,
        request_id="r-1",
        now_ms=NOW,
        terms_refusal="",
    )
    ttls = [
        await codes.redis.pttl(key) for key in (request_key("r-1"), order_key("o-1"), CodeKeys("SAVE").live)
    ]
    assert [0 < ttl for ttl in ttls] == [True, True, True]
    assert ttls[0] <= REQUEST_TTL_MS and max(ttls[1:]) <= TTL_MS + RETENTION_MS
    await codes.confirm("SAVE", "o-1", now=NOW + TTL_MS - 1)  # kept RETENTION_MS past the change
    assert RETENTION_MS - 60_000 < await codes.redis.pttl(order_key("o-1")) <= RETENTION_MS + 1


async def test_lapsed_reservations_are_purged_a_bounded_batch_per_reservation(codes: Codes):
    await codes.create("SAVE")
    lapsed = PURGE_BATCH + 50
    for i in range(lapsed):
        await codes.reserve("SAVE", f"old-{i}", account=f"acct-{i}")
    live = CodeKeys("SAVE").live
    assert await codes.redis.zcard(live) == lapsed
    after = NOW + TTL_MS
    await codes.reserve("SAVE", "new-1", now=after)
    assert await codes.redis.zcard(live) == lapsed - PURGE_BATCH + 1
    await codes.reserve("SAVE", "new-2", now=after)
    assert await codes.redis.zcard(live) == 2
    assert (await codes.store.get("SAVE", now_ms=after)).reserved_count == 2


async def test_a_script_called_with_malformed_arguments_writes_nothing(codes: Codes):
    k = CodeKeys("SAVE")
    keys = [k.code, k.live, k.held, k.redeemed_by, order_key("o-1"), request_key("r-1")]
    reserve = codes.store._scripts["reserve"]
    await codes.create("SAVE")
    args = ["SAVE", "o-1", "acct-1", "launch-product", TTL_MS, "fp", NOW, 1, 1, 10, "NOT_A_REASON"]
    with pytest.raises(ResponseError, match="malformed arguments"):
        await reserve(keys=keys, args=args)
    with pytest.raises(ResponseError, match="malformed arguments"):
        await reserve(keys=keys, args=[*args[:4], "soon", *args[5:10], ""])
    assert await codes.redis.exists(order_key("o-1"), request_key("r-1")) == 0
