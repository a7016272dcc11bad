"""Every automatic top-up script run directly on Redis (single and Cluster), refusals included."""

from __future__ import annotations

import pytest
from redis.exceptions import ResponseError

from payment_svc.auto_top_up_store import (
    DEFAULT_PERIOD_S,
    AttemptResult,
    AutoTopUpSettings,
    AutoTopUpStore,
    Reservation,
)
from svckit.errors import RequestIdReused
from svckit.redis_client import register_scripts

ACCOUNT = "acct-1"
DAY_MS = 86_400_000
ON = AutoTopUpSettings(enabled=True, threshold_minor=500, blocks=1, max_spend_minor=2000, period_seconds=0)


@pytest.fixture
def redis(any_redis_client):
    return any_redis_client


@pytest.fixture
def store(redis) -> AutoTopUpStore:
    return AutoTopUpStore(redis, request_ttl_s=3600, lock_ttl_s=60)


async def test_configure_answers_a_retry_with_the_first_answer_and_refuses_a_reused_request_id(store):
    first = await store.configure(ACCOUNT, "r1", "fp1", ON, 1)
    assert (first.enabled, first.threshold_minor, first.max_spend_minor, first.update_ms) == (
        True,
        500,
        2000,
        1,
    )
    off = AutoTopUpSettings(False, 0, 0, 0, 0)
    retry = await store.configure(ACCOUNT, "r1", "fp1", off, 2)
    assert retry == first
    with pytest.raises(RequestIdReused):
        await store.configure(ACCOUNT, "r1", "fp2", off, 3)
    assert (await store.read(ACCOUNT, 4)).enabled


async def test_reserve_counts_each_top_up_once_within_the_cap_and_period(store):
    assert await store.reserve(ACCOUNT, "ord_a", 1000, 1) == Reservation.DISABLED
    await store.configure(ACCOUNT, "r1", "fp1", ON, 1)
    assert await store.reserve(ACCOUNT, "ord_a", 1000, 2) == Reservation.RESERVED
    assert await store.reserve(ACCOUNT, "ord_a", 1000, 3) == Reservation.RESERVED  # a redelivery resumes it
    assert await store.reserve(ACCOUNT, "ord_b", 1000, 4) == Reservation.RESERVED
    assert await store.reserve(ACCOUNT, "ord_c", 1000, 5) == Reservation.CAP_REACHED
    assert (await store.read(ACCOUNT, 6)).spent_in_period_minor == 2000
    after_period = 2 + DEFAULT_PERIOD_S * 1000 + DAY_MS
    assert (await store.read(ACCOUNT, after_period)).spent_in_period_minor == 0
    assert await store.reserve(ACCOUNT, "ord_c", 1000, after_period) == Reservation.RESERVED


async def test_finish_gives_back_what_was_not_charged_and_turns_off_after_failures_in_a_row(store):
    await store.configure(ACCOUNT, "r1", "fp1", ON, 1)
    for n, order_id in enumerate(("ord_a", "ord_b"), 1):
        await store.reserve(ACCOUNT, order_id, 1000, n)
        await store.finish(ACCOUNT, order_id, AttemptResult.FAILED, "CARD_DECLINED", 2, n)
    state = await store.read(ACCOUNT, 3)
    assert (state.enabled, state.disabled_reason, state.consecutive_failures) == (False, "CARD_DECLINED", 2)
    assert state.spent_in_period_minor == 0
    again = await store.configure(ACCOUNT, "r2", "fp1", ON, 4)  # on again: the self-disable is cleared
    assert (again.enabled, again.consecutive_failures, again.disabled_reason) == (True, 0, "")


async def test_finish_keeps_the_reservation_of_a_retry_and_resets_failures_on_success(store):
    await store.configure(ACCOUNT, "r1", "fp1", ON, 1)
    await store.reserve(ACCOUNT, "ord_a", 1000, 1)
    await store.finish(ACCOUNT, "ord_a", AttemptResult.FAILED, "X", 3, 2)
    await store.reserve(ACCOUNT, "ord_b", 1000, 3)
    await store.finish(ACCOUNT, "ord_b", AttemptResult.RETRY, "", 3, 4)
    assert (await store.read(ACCOUNT, 5)).spent_in_period_minor == 1000
    await store.finish(ACCOUNT, "ord_b", AttemptResult.OK, "", 3, 6)
    state = await store.read(ACCOUNT, 7)
    assert (state.consecutive_failures, state.spent_in_period_minor) == (0, 1000)


async def test_the_lock_is_held_by_one_top_up_and_freed_only_by_its_finish(store):
    assert await store.lock(ACCOUNT, "ord_a")
    assert await store.lock(ACCOUNT, "ord_a")  # the same top-up, redelivered
    assert not await store.lock(ACCOUNT, "ord_b")
    await store.finish(ACCOUNT, "ord_b", AttemptResult.SKIPPED, "", 3, 1)
    assert not await store.lock(ACCOUNT, "ord_b")
    await store.finish(ACCOUNT, "ord_a", AttemptResult.SKIPPED, "", 3, 2)
    assert await store.lock(ACCOUNT, "ord_b")


_MALFORMED = [
    ("read_auto_top_up", ["now", DEFAULT_PERIOD_S]),
    ("configure_auto_top_up", [1, DEFAULT_PERIOD_S, "fp", 3600, "yes", 500, 1, 2000, 0]),
    ("configure_auto_top_up", [1, DEFAULT_PERIOD_S, "fp", 3600, "1", "lots", 1, 2000, 0]),
    ("reserve_auto_top_up", [1, DEFAULT_PERIOD_S, "ord_a", "ten"]),
    ("finish_auto_top_up", [1, "ord_a", "maybe", "", 3]),
    ("finish_auto_top_up", [1, "ord_a", "failed", "", "three"]),
]


@pytest.mark.parametrize(
    ("script", "args"), _MALFORMED, ids=[f"{s}-{i}" for i, (s, _) in enumerate(_MALFORMED)]
)
async def test_scripts_refuse_malformed_arguments_before_any_write(store, redis, script, args):
    await store.configure(ACCOUNT, "r1", "fp1", ON, 1)
    await store.reserve(ACCOUNT, "ord_a", 1000, 1)
    settings = "pay:auto_top_up:{" + ACCOUNT + "}"
    keys = [settings, f"{settings}:spend", f"{settings}:request:r9"]
    before = (await redis.hgetall(settings), await redis.zrange(keys[1], 0, -1))
    with pytest.raises(ResponseError, match="must be"):
        await register_scripts(redis, "payment_svc")[script](keys=keys[:3], args=args)
    assert (await redis.hgetall(settings), await redis.zrange(keys[1], 0, -1)) == before
    assert await redis.get(keys[2]) is None
