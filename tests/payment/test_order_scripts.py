"""Every order script run directly on Redis (single and Cluster), refusals included, through OrderStore;
and every store mutation is one round trip."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from redis.exceptions import ResponseError

from payment_svc.auto_top_up_store import AttemptResult, AutoTopUpSettings, AutoTopUpStore
from payment_svc.config import Settings
from payment_svc.order_store import (
    DisputeEffect,
    DisputeOutcome,
    OrderStore,
    RefundStepOutcome,
    RevertOutcome,
)
from payment_svc.orders import Kind, Order, Status
from svckit.errors import RequestIdReused
from svckit.redis_client import connect, register_scripts, script_pipe
from tests.balance.support import RedisProxy
from tests.conftest import base_settings

ORDER = "ord_000000000000000000000001"
UNKNOWN = "ord_ffffffffffffffffffffffff"


@pytest.fixture
def redis(any_redis_client):
    return any_redis_client


@pytest.fixture
async def orders(redis) -> AsyncIterator[OrderStore]:
    """The store as payment_svc builds it: its scripts through a ScriptPipe on a single Redis, redis-py's
    Script on a Cluster."""
    pipe = script_pipe(redis)
    yield OrderStore(redis, pipe)
    if pipe is not None:
        await pipe.aclose()


def _order(
    order_id: str = ORDER, kind: Kind = Kind.TOP_UP, account: str = "acct-1", create_ms: int = 1
) -> Order:
    return Order(
        order_id, account, kind, Status.PENDING, 1000, "USD", session_expires_at_s=5000, create_ms=create_ms
    )


async def _fulfilled(orders: OrderStore, kind: Kind = Kind.TOP_UP) -> Order:
    order = _order(kind=kind)
    await orders.create(order, "fp")
    for status in (Status.PAID, Status.FULFILLED):
        await orders.update(ORDER, 1, to=status)
    return order


async def test_create_order_returns_the_order_to_a_retry_and_refuses_a_reused_request_id(orders):
    created, stored = await orders.create(_order(), "fp")
    assert (created, stored.order.status, stored.fingerprint) == (True, Status.PENDING, "fp")
    again, same = await orders.create(_order(), "fp")
    assert (again, same.order) == (False, stored.order)
    with pytest.raises(RequestIdReused):
        await orders.create(_order(), "other-fp")


async def test_update_order_moves_only_along_the_state_machine_and_fills_only_unset_fields(orders):
    await orders.create(_order(), "fp")
    paid = await orders.update(
        ORDER, 2, to=Status.PAID, set_={"paid_minor": 1000}, fill={"checkout_url": "u1"}
    )
    assert paid.moved and (paid.stored.order.paid_minor, paid.stored.order.checkout_url) == (1000, "u1")
    expired = await orders.update(
        ORDER, 3, to=Status.EXPIRED, set_={"failure_reason": "x"}, fill={"checkout_url": "u2"}
    )
    assert not expired.moved
    assert (expired.stored.order.status, expired.stored.order.failure_reason) == (Status.PAID, "")
    assert expired.stored.order.checkout_url == "u1"
    assert [s for s, _ in expired.stored.order.history] == [Status.PENDING, Status.PAID]
    assert await orders.update(UNKNOWN, 3, to=Status.PAID) is None


async def test_update_order_freezes_the_receipt_once(orders):
    await orders.create(_order(), "fp")
    frozen = await orders.update(ORDER, 2, fill={"checkout_url": "u1"}, receipt=True)
    await orders.update(ORDER, 3, to=Status.PAID)
    later = await orders.update(ORDER, 4, receipt=True)
    assert frozen.stored.receipt.status == later.stored.receipt.status == Status.PENDING
    assert later.stored.order.status == Status.PAID


async def test_page_orders_lists_newest_first_and_refuses_a_token_not_in_the_listing(orders):
    ids = [f"ord_{i:024x}" for i in range(1, 4)]
    for i, order_id in enumerate(ids):
        _, stored = await orders.create(_order(order_id, create_ms=i + 1), "fp")
        await orders.index(stored.order)
    first = await orders.page("acct-1", "", 2)
    assert [o.order_id for o in first] == [ids[2], ids[1]]
    assert [o.order_id for o in await orders.page("acct-1", ids[1], 2)] == [ids[0]]
    assert await orders.page("acct-2", ids[1], 2) is None


async def test_refund_request_is_recorded_once_and_an_unknown_order_is_refused(orders):
    await _fulfilled(orders)
    first = await orders.refund_request(ORDER, "r1", "fp1", 400)
    assert (first.fingerprint, first.amount_minor, first.stripe_refund_id) == ("fp1", 400, "")
    retry = await orders.refund_request(ORDER, "r1", "fp2", 900)
    assert (retry.fingerprint, retry.amount_minor) == ("fp1", 400)  # the caller compares fingerprints
    assert await orders.refund_request(UNKNOWN, "r1", "fp1", 400) is None


async def test_refund_claim_is_refused_before_fulfilment_and_for_a_smaller_total(orders):
    await orders.create(_order(), "fp")
    refused = await orders.claim_refund_step(ORDER, 400, 2, nothing_to_take=False)
    assert refused.outcome == RefundStepOutcome.NOT_REFUNDABLE
    for status in (Status.PAID, Status.FULFILLED):
        await orders.update(ORDER, 1, to=status)
    step = await orders.claim_refund_step(ORDER, 400, 2, nothing_to_take=False)
    assert (step.outcome, step.delta_minor, step.take_minor, step.applied) == ("step", 400, -1, False)
    assert (await orders.get(ORDER)).order.status == Status.REFUNDED
    assert (await orders.claim_refund_step(ORDER, 300, 3, nothing_to_take=False)).outcome == "superseded"
    bigger = await orders.claim_refund_step(ORDER, 1000, 3, nothing_to_take=False)
    assert (bigger.delta_minor, (await orders.get(ORDER)).order.refunded_minor) == (600, 1000)


async def test_refund_step_with_nothing_to_take_is_applied_at_once(orders):
    await _fulfilled(orders, Kind.PRODUCT)
    step = await orders.claim_refund_step(ORDER, 400, 2, nothing_to_take=True)
    assert (step.delta_minor, step.take_minor, step.applied) == (400, 0, True)


async def test_refund_decide_only_lowers_and_apply_counts_the_shortfall_once(orders):
    await _fulfilled(orders)
    await orders.claim_refund_step(ORDER, 400, 2, nothing_to_take=False)
    assert (await orders.decide_refund_step(ORDER, 400, 300)).take_minor == 300
    assert (await orders.decide_refund_step(ORDER, 400, 350)).take_minor == 300
    assert (await orders.decide_refund_step(ORDER, 400, 250)).take_minor == 250
    applied = await orders.apply_refund_step(ORDER, 400, 3)
    assert (applied.applied, applied.take_minor) == (True, 250)
    await orders.apply_refund_step(ORDER, 400, 4)
    assert (await orders.decide_refund_step(ORDER, 400, 10)).take_minor == 250  # applied: final
    assert (await orders.get(ORDER)).order.refund_shortfall_minor == 150
    assert (await orders.decide_refund_step(ORDER, 999, 1)).outcome == RefundStepOutcome.SUPERSEDED
    assert (await orders.apply_refund_step(ORDER, 999, 5)).outcome == RefundStepOutcome.SUPERSEDED


async def test_dispute_record_refuses_another_dispute_and_unpaid_orders(orders):
    order = await _fulfilled(orders)
    first = await orders.record_dispute(order.order_id, "dp_1", 1000, "open", 2)
    assert (first.outcome, first.order.status, first.take_minor) == ("recorded", Status.DISPUTED, -1)
    other = await orders.record_dispute(order.order_id, "dp_2", 1000, "open", 3)
    assert other.outcome == DisputeOutcome.OTHER_DISPUTE and other.order.dispute_id == "dp_1"
    missing = await orders.record_dispute(UNKNOWN, "dp_1", 1, "open", 3)
    assert (missing.outcome, missing.order) == (DisputeOutcome.UNKNOWN_ORDER, None)
    pending = Order("ord_000000000000000000000002", "acct-1", Kind.TOP_UP, Status.PENDING, 1000, "USD")
    await orders.create(pending, "fp")
    not_disputable = await orders.record_dispute(pending.order_id, "dp_3", 1, "open", 3)
    assert not_disputable.outcome == DisputeOutcome.NOT_DISPUTABLE


async def test_dispute_final_status_is_never_reopened_and_won_restores_the_status(orders):
    order = await _fulfilled(orders)
    await orders.record_dispute(order.order_id, "dp_1", 1000, "open", 2)
    won = await orders.record_dispute(order.order_id, "dp_1", 1000, "won", 3)
    assert (won.order.status, won.order.dispute_status) == (Status.FULFILLED, "won")
    again = await orders.record_dispute(order.order_id, "dp_1", 1000, "open", 4)
    assert (again.order.status, again.order.dispute_status) == (Status.FULFILLED, "won")


async def test_dispute_take_is_decided_once_lowered_only_before_it_is_taken(orders):
    order = await _fulfilled(orders)
    await orders.record_dispute(order.order_id, "dp_1", 1000, "open", 2)
    assert (await orders.decide_dispute(order.order_id, "dp_1", 700)).take_minor == 700
    assert (await orders.decide_dispute(order.order_id, "dp_1", 900)).take_minor == 700
    assert (await orders.decide_dispute(order.order_id, "dp_1", 600)).take_minor == 600
    taken = await orders.mark_dispute(order.order_id, "dp_1", DisputeEffect.TAKEN, 3)
    assert (taken.taken, taken.order.dispute_shortfall_minor) == (True, 400)
    assert (await orders.decide_dispute(order.order_id, "dp_1", 100)).take_minor == 600
    assert (await orders.decide_dispute(order.order_id, "dp_9", 100)).outcome == DisputeOutcome.OTHER_DISPUTE
    other = await orders.mark_dispute(order.order_id, "dp_9", DisputeEffect.TAKEN, 4)
    assert other.outcome == DisputeOutcome.OTHER_DISPUTE


async def test_refund_revert_gives_back_once_and_starts_a_new_generation(orders):
    order = await _fulfilled(orders)
    await orders.claim_refund_step(order.order_id, 400, 2, nothing_to_take=False)
    await orders.decide_refund_step(order.order_id, 400, 300)
    await orders.apply_refund_step(order.order_id, 400, 2)  # 100 could not be taken
    revert = await orders.revert_refund(order.order_id, 0, 3)
    assert (revert.outcome, revert.generation, revert.give_back_minor) == ("reverted", 1, 300)
    assert (await orders.revert_refund(order.order_id, 0, 4)).outcome == RevertOutcome.PENDING
    await orders.revert_done(order.order_id, 1, 5)
    assert (await orders.revert_refund(order.order_id, 0, 6)).outcome == RevertOutcome.NOTHING
    stored = (await orders.get(order.order_id)).order
    assert (stored.status, stored.refunded_minor, stored.refund_shortfall_minor) == (Status.FULFILLED, 0, 0)
    step = await orders.claim_refund_step(order.order_id, 400, 7, nothing_to_take=False)
    assert (step.outcome, step.delta_minor) == ("step", 400)  # a new step, not the failed one
    assert (await orders.revert_refund(UNKNOWN, 0, 8)).outcome == RevertOutcome.UNKNOWN_ORDER


async def test_session_expiry_is_renewed_once_for_concurrent_retries(orders):
    order = await _fulfilled(orders)
    assert await orders.renew_session_expiry(order.order_id, 5000, 9000) == 9000
    assert await orders.renew_session_expiry(order.order_id, 5000, 9100) == 9000


# Arguments the store never sends: each script refuses them before its first write.
_MALFORMED = [
    ("create_order", ["fp", "soon", "blocks", "1"]),
    ("create_order", ["fp", 1, "blocks"]),
    ("update_order", ["SHIPPED", 1, "0", 0, 0]),
    ("update_order", ["", 1, "yes", 0, 0]),
    ("update_order", ["", 1, "0", 0, 1, "checkout_url"]),
    ("page_orders", ["", "many"]),
    ("refund_request", ["r1", "fp", "all"]),
    ("refund_claim", ["400.5", 1, "0"]),
    ("refund_claim", [400, 1, "maybe"]),
    ("refund_decide", [400, "some"]),
    ("refund_apply", [400, "now"]),
    ("refund_revert", ["none", 1]),
    ("refund_revert_done", ["first", 1]),
    ("renew_session_expiry", ["", 9000]),
    ("dispute_record", ["dp_1", 1000, "inquiry", 2]),
    ("dispute_record", ["dp_1", "all", "open", 2]),
    ("dispute_decide", ["dp_1", "half"]),
    ("dispute_mark", ["dp_1", "forgotten", 3]),
]


@pytest.mark.parametrize(
    ("script", "args"), _MALFORMED, ids=[f"{s}-{i}" for i, (s, _) in enumerate(_MALFORMED)]
)
async def test_scripts_refuse_malformed_arguments_before_any_write(orders, redis, script, args):
    await _fulfilled(orders)
    await orders.record_dispute(ORDER, "dp_1", 1000, "open", 2)
    key = "pay:order:{" + ORDER + "}"
    before = await redis.hgetall(key)
    with pytest.raises(ResponseError, match="must be"):
        await register_scripts(redis, "payment_svc")[script](keys=[key], args=args)
    assert await redis.hgetall(key) == before


_HOUSEKEEPING = {b"PING", b"CLIENT", b"HELLO", b"SELECT"}  # connection setup


async def test_each_store_mutation_is_one_evalsha(redis_server, single_redis):
    proxy = RedisProxy(redis_server.port)
    port = await proxy.start()
    client = connect(
        Settings(**base_settings(redis_url=f"redis://127.0.0.1:{port}/0")), decode_responses=True
    )
    orders = OrderStore(client)
    auto = AutoTopUpStore(client, request_ttl_s=3600, lock_ttl_s=60)
    on = AutoTopUpSettings(
        enabled=True, threshold_minor=500, blocks=1, max_spend_minor=2000, period_seconds=0
    )
    await orders.create(_order(), "fp")
    calls = {
        "create": lambda: orders.create(_order(), "fp"),
        "update": lambda: orders.update(ORDER, 2, to=Status.PAID),
        "claim": lambda: orders.claim_refund_step(ORDER, 400, 3, nothing_to_take=False),
        "decide": lambda: orders.decide_refund_step(ORDER, 400, 300),
        "apply": lambda: orders.apply_refund_step(ORDER, 400, 3),
        "revert": lambda: orders.revert_refund(ORDER, 400, 4),
        "revert_done": lambda: orders.revert_done(ORDER, 1, 4),
        "record_dispute": lambda: orders.record_dispute(ORDER, "dp_1", 1000, "open", 5),
        "decide_dispute": lambda: orders.decide_dispute(ORDER, "dp_1", 500),
        "mark_dispute": lambda: orders.mark_dispute(ORDER, "dp_1", DisputeEffect.TAKEN, 6),
        "renew": lambda: orders.renew_session_expiry(ORDER, 5000, 9000),
        "refund_request": lambda: orders.refund_request(ORDER, "r1", "fp", 100),
        "read_auto_top_up": lambda: auto.read("acct-1", 1),
        "configure_auto_top_up": lambda: auto.configure("acct-1", "r1", "fp", on, 1),
        "reserve_auto_top_up": lambda: auto.reserve("acct-1", "ord_a", 1000, 2),
        "finish_auto_top_up": lambda: auto.finish("acct-1", "ord_a", AttemptResult.RETRY, "", 3, 3),
    }
    try:
        for call in calls.values():
            await call()  # each script loads (SCRIPT LOAD after NOSCRIPT) on its first call only
        for name, call in calls.items():
            proxy.commands.clear()
            await call()
            sent = [c[0].upper() for c in proxy.commands if c[0].upper() not in _HOUSEKEEPING]
            assert sent == [b"EVALSHA"], name
    finally:
        await client.aclose()
        proxy.close()
