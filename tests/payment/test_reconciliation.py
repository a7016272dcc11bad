"""The reconciliation sweeper: a lost webhook costs minutes, not money, and never pays twice."""

from __future__ import annotations

import asyncio

import grpc
from payment.v1 import payment_service_pb2 as pb

from tests.payment.support import eventually, payload_of, refused, unique

AFTER_MS = 601 * 1000  # just past RECONCILE_AFTER_S (600)


async def test_sweeper_fulfils_an_order_whose_webhook_never_came(stack):
    account, order_id, completed = await stack.completed_top_up()
    sweeper = stack.parts.reconciler
    assert await sweeper.sweep_once() == {}  # too young to be suspicious
    stack.clock.advance(AFTER_MS)
    assert await sweeper.sweep_once() == {order_id: "fulfilled"}
    assert await stack.balance_of(account) == 1000
    assert (await stack.deliver(completed))["outcome"] == "already_fulfilled"
    assert await stack.balance_of(account) == 1000
    assert len(await stack.credits_of(account)) == 1
    assert await sweeper.sweep_once() == {}


async def test_sweeper_and_webhook_at_once_credit_once(stack):
    account, _, completed = await stack.completed_top_up()
    stack.clock.advance(AFTER_MS)
    await asyncio.gather(stack.parts.reconciler.sweep_once(), stack.deliver(completed))
    assert await stack.balance_of(account) == 1000
    assert len(await stack.credits_of(account)) == 1


async def test_sweeper_expires_a_lapsed_session_and_releases_its_code(stack):
    await stack.create_code("ONCE", percent_off=20, max_redemptions=1)
    response = await stack.checkout(unique("acct"), "launch-product", "ONCE")
    stack.fake.expire_session(response.session_id)  # the expiry webhook is lost
    stack.clock.advance(AFTER_MS)
    assert await stack.parts.reconciler.sweep_once() == {response.order.order_id: "expired"}
    assert (await stack.order(response.order.order_id)).status == pb.ORDER_STATUS_EXPIRED
    assert (await stack.code("ONCE")).reserved_count == 0


async def test_sweeper_leaves_open_sessions_open(stack):
    response = await stack.top_up_session(unique("acct"), 1)
    stack.clock.advance(AFTER_MS)
    assert await stack.parts.reconciler.sweep_once() == {response.order.order_id: "open"}
    assert (await stack.order(response.order.order_id)).status == pb.ORDER_STATUS_PENDING


async def test_sweeper_expires_an_order_without_a_session_within_minutes(stack):
    account = unique("acct")
    stack.fake.fail_next("/v1/checkout/sessions", "server_error", times=3)
    await refused(
        stack.top_up_session(account, 1, request_id="lost"), grpc.StatusCode.UNAVAILABLE, "STRIPE_UNAVAILABLE"
    )
    (order,) = (await stack.payment.ListOrders(pb.ListOrdersRequest(account_id=account))).orders
    assert await stack.parts.reconciler.sweep_once() == {}  # not due yet: the client may retry
    stack.clock.advance(AFTER_MS)  # RECONCILE_AFTER_S, not the hour-long session lifetime
    assert await stack.parts.reconciler.sweep_once() == {order.order_id: "expired"}
    retried = await stack.top_up_session(account, 1, request_id="lost")
    assert retried.order.status == pb.ORDER_STATUS_EXPIRED and retried.session_id == ""


async def test_sweeper_finishes_a_paid_order_whose_credit_failed(start_stack, single_redis):
    stack = await start_stack(single_redis, balance_proxy=True)
    account = unique("acct")
    await stack.paid_top_up(account)
    session = await stack.top_up_session(account, 2)
    completed = stack.fake.complete_session(session.session_id)
    stack.balance_proxy.refuse()
    status, _ = await stack.post(payload_of(completed))
    assert status == 503  # a peer down is the one kind of failure Stripe is asked to retry
    paid = await stack.order(session.order.order_id)
    assert paid.status == pb.ORDER_STATUS_PAID
    stack.balance_proxy.allow()
    stack.clock.advance(AFTER_MS)

    async def swept():
        return (await stack.parts.reconciler.sweep_once()).get(paid.order_id) == "fulfilled"

    await eventually(swept)  # the peer channel reconnects on its own schedule
    assert await stack.balance_of(account) == 1000 + 2000
    assert len(await stack.credits_of(account)) == 2
