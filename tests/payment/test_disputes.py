"""Chargebacks and refunds that fail later: the balance follows Stripe once, whatever the event order."""

from __future__ import annotations

import itertools

import pytest
from payment.v1 import payment_service_pb2 as pb

from tests.payment.support import unique


def _charge_id(stack, order: pb.Order) -> str:
    return stack.fake.store.get(order.stripe_payment_intent_id, "payment_intent")["latest_charge"]


async def _deliver_all(stack, events: list[dict]) -> list[str]:
    return [(await stack.deliver(event))["outcome"] for event in events]


async def test_dispute_takes_back_what_the_balance_allows_and_a_win_gives_it_back(any_stack):
    stack = any_stack
    account = unique("acct")
    order = await stack.paid_top_up(account)
    await stack.spend(account, 300)
    created = stack.fake.create_dispute(_charge_id(stack, order))
    assert await _deliver_all(stack, [created, created]) == ["dispute_open", "dispute_open"]
    assert await stack.balance_of(account) == 0
    disputed = await stack.order(order.order_id)
    assert (disputed.status, disputed.dispute_status) == (pb.ORDER_STATUS_DISPUTED, "open")
    assert (disputed.disputed_minor, disputed.dispute_shortfall_minor) == (1000, 300)
    won = stack.fake.close_dispute(created["data"]["object"]["id"], won=True)
    redelivered = {**created, "id": unique("evt")}
    assert await _deliver_all(stack, [won, won, redelivered]) == ["dispute_won"] * 3
    assert await stack.balance_of(account) == 700
    settled = await stack.order(order.order_id)
    assert (settled.status, settled.dispute_status) == (pb.ORDER_STATUS_FULFILLED, "won")


async def test_lost_dispute_is_final(any_stack):
    stack = any_stack
    account = unique("acct")
    order = await stack.paid_top_up(account)
    created = stack.fake.create_dispute(_charge_id(stack, order))
    lost = stack.fake.close_dispute(created["data"]["object"]["id"], won=False)
    assert (
        await _deliver_all(stack, [created, lost, lost, {**created, "id": unique("evt")}])
        == ["dispute_lost"] * 4
    )
    assert await stack.balance_of(account) == 0
    final = await stack.order(order.order_id)
    assert (final.status, final.dispute_status) == (pb.ORDER_STATUS_DISPUTED, "lost")


@pytest.mark.parametrize(("won", "balance"), [(True, 1000), (False, 0)])
async def test_dispute_closed_before_created_arrives_leaves_the_right_balance(stack, won, balance):
    account = unique("acct")
    order = await stack.paid_top_up(account)
    created = stack.fake.create_dispute(_charge_id(stack, order))
    closed = stack.fake.close_dispute(created["data"]["object"]["id"], won=won)
    await _deliver_all(stack, [closed, created, closed])
    assert await stack.balance_of(account) == balance
    assert len(await stack.credits_of(account)) == 1  # nothing taken, so nothing given back


async def test_product_dispute_publishes_order_disputed_once(stack):
    response = await stack.checkout(unique("acct"), "launch-product")
    await stack.deliver(stack.fake.complete_session(response.session_id))
    order = await stack.order(response.order.order_id)
    created = stack.fake.create_dispute(_charge_id(stack, order))
    await _deliver_all(stack, [created, {**created, "id": unique("evt")}])
    events = [e["type"] for e in await stack.order_events()]
    assert events == ["order.paid", "order.disputed"]
    assert (await stack.order(order.order_id)).status == pb.ORDER_STATUS_DISPUTED


@pytest.mark.parametrize("order_of_events", list(itertools.permutations(["refunded", "failed"])))
async def test_failed_refund_gives_back_exactly_what_was_taken_in_any_order(any_stack, order_of_events):
    stack = any_stack
    account = unique("acct")
    order = await stack.paid_top_up(account)
    refund = stack.fake.store.refund(
        {"payment_intent": order.stripe_payment_intent_id, "amount": 400}, (None, None)
    )
    events = {"refunded": stack.fake.events[-1], "failed": stack.fake.fail_refund(refund["id"])}
    for name in [*order_of_events, *order_of_events]:  # each twice, in the given order
        await stack.deliver({**events[name], "id": unique("evt")})
    assert await stack.balance_of(account) == 1000
    after = await stack.order(order.order_id)
    assert (after.status, after.refunded_minor) == (pb.ORDER_STATUS_FULFILLED, 0)
    # A later refund of the same amount is a new refund, taken back once.
    stack.fake.store.refund({"payment_intent": order.stripe_payment_intent_id, "amount": 400}, (None, None))
    await stack.deliver(stack.fake.events[-1])
    assert await stack.balance_of(account) == 600


async def test_failed_refund_of_a_spent_top_up_first_cancels_the_shortfall(stack):
    account = unique("acct")
    order = await stack.paid_top_up(account)
    await stack.spend(account, 700)
    refund = stack.fake.store.refund({"payment_intent": order.stripe_payment_intent_id}, (None, None))
    await stack.deliver(stack.fake.events[-1])
    taken = await stack.order(order.order_id)
    assert (taken.refunded_minor, taken.refund_shortfall_minor) == (1000, 700)
    assert await stack.balance_of(account) == 0
    assert (await stack.deliver(stack.fake.fail_refund(refund["id"])))["outcome"] == "refund_reverted"
    assert await stack.balance_of(account) == 300  # only the 300 actually taken comes back
    reverted = await stack.order(order.order_id)
    assert (reverted.refunded_minor, reverted.refund_shortfall_minor) == (0, 0)
