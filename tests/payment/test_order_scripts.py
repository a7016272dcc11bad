"""The order scripts added for disputes, failed refunds and session renewal, run directly on Redis."""

from __future__ import annotations

import pytest

from payment_svc.config import Settings
from payment_svc.order_store import OrderStore
from payment_svc.orders import Kind, Order, Status
from svckit.redis_client import connect
from tests.conftest import base_settings


@pytest.fixture
async def orders(any_redis):
    redis = connect(Settings(**base_settings(**any_redis)), decode_responses=True)
    yield OrderStore(redis)
    await redis.aclose()


async def _fulfilled(orders: OrderStore, order_id: str = "ord_000000000000000000000001") -> Order:
    order = Order(order_id, "acct-1", Kind.TOP_UP, Status.PENDING, 1000, "USD", session_expires_at_s=5000)
    await orders.create(order, "fp")
    for status in (Status.PAID, Status.FULFILLED):
        await orders.update(order_id, 1, to=status)
    return order


async def test_dispute_record_refuses_another_dispute_and_unpaid_orders(orders):
    order = await _fulfilled(orders)
    first = await orders.record_dispute(order.order_id, "dp_1", 1000, "open", 2)
    assert (first.outcome, first.order.status, first.take_minor) == ("recorded", Status.DISPUTED, -1)
    other = await orders.record_dispute(order.order_id, "dp_2", 1000, "open", 3)
    assert other.outcome == "other_dispute" and other.order.dispute_id == "dp_1"
    missing = await orders.record_dispute("ord_ffffffffffffffffffffffff", "dp_1", 1, "open", 3)
    assert (missing.outcome, missing.order) == ("unknown_order", None)
    pending = Order("ord_000000000000000000000002", "acct-1", Kind.TOP_UP, Status.PENDING, 1000, "USD")
    await orders.create(pending, "fp")
    assert (await orders.record_dispute(pending.order_id, "dp_3", 1, "open", 3)).outcome == "not_disputable"


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
    taken = await orders.mark_dispute(order.order_id, "dp_1", "taken", 3)
    assert (taken.taken, taken.order.dispute_shortfall_minor) == (True, 400)
    assert (await orders.decide_dispute(order.order_id, "dp_1", 100)).take_minor == 600
    assert (await orders.mark_dispute(order.order_id, "dp_9", "taken", 4)).outcome == "other_dispute"


async def test_refund_revert_gives_back_once_and_starts_a_new_generation(orders):
    order = await _fulfilled(orders)
    await orders.refund_step(order.order_id, "claim", 400, 2, 0)
    await orders.refund_step(order.order_id, "decide", 400, 2, 300)
    await orders.refund_step(order.order_id, "apply", 400, 2, 0)  # 100 could not be taken
    revert = await orders.revert_refund(order.order_id, 0, 3)
    assert (revert.outcome, revert.generation, revert.give_back_minor) == ("reverted", 1, 300)
    assert (await orders.revert_refund(order.order_id, 0, 4)).outcome == "pending"  # credit not done yet
    await orders.revert_done(order.order_id, 1, 5)
    assert (await orders.revert_refund(order.order_id, 0, 6)).outcome == "nothing"
    stored = (await orders.get(order.order_id)).order
    assert (stored.status, stored.refunded_minor, stored.refund_shortfall_minor) == (Status.FULFILLED, 0, 0)
    step = await orders.refund_step(order.order_id, "claim", 400, 7, 0)
    assert (step.outcome, step.delta_minor) == ("step", 400)  # a new step, not the failed one


async def test_session_expiry_is_renewed_once_for_concurrent_retries(orders):
    order = await _fulfilled(orders)
    assert await orders.renew_session_expiry(order.order_id, 5000, 9000) == 9000
    assert await orders.renew_session_expiry(order.order_id, 5000, 9100) == 9000
