"""Stripe webhooks: signed, deduplicated, order-safe; every effect happens once whatever is replayed."""

from __future__ import annotations

import asyncio
import copy
import json
import time

import grpc
import pytest
from payment.v1 import payment_service_pb2 as pb

from devtools.fake_stripe import sign
from tests.payment.support import WEBHOOK_SECRET, payload_of, refused, unique

INVALID = grpc.StatusCode.INVALID_ARGUMENT


def _event(stack, event_type: str, obj_id: str) -> dict:
    (event,) = [
        e for e in stack.fake.events if e["type"] == event_type and e["data"]["object"]["id"] == obj_id
    ]
    return event


def _variant(event: dict, event_type: str, **changes) -> dict:
    """Another event about the same object, as Stripe would send it later (new id, new type)."""
    other = copy.deepcopy(event)
    other["id"] = unique("evt_variant")
    other["type"] = event_type
    other["data"]["object"].update(changes)
    return other


async def test_top_up_completion_credits_the_balance_once(any_stack):
    account, order_id, completed = await any_stack.completed_top_up(2)
    body = await any_stack.deliver(completed)
    assert (body["outcome"], body["duplicate"], body["event_id"]) == ("fulfilled", False, completed["id"])
    order = await any_stack.order(order_id)
    assert order.status == pb.ORDER_STATUS_FULFILLED
    assert [c.status for c in order.history] == [
        pb.ORDER_STATUS_PENDING,
        pb.ORDER_STATUS_PAID,
        pb.ORDER_STATUS_FULFILLED,
    ]
    assert order.stripe_payment_intent_id == completed["data"]["object"]["payment_intent"]
    assert order.checkout_url == ""
    assert await any_stack.balance_of(account) == 2000
    (credit,) = await any_stack.credits_of(account)
    assert (credit.request_id, credit.reference) == (f"topup-{order_id}", order_id)


async def test_same_event_ten_times_in_a_row_credits_once(any_stack):
    account, _, completed = await any_stack.completed_top_up()
    bodies = [await any_stack.deliver(completed) for _ in range(10)]
    assert [b["duplicate"] for b in bodies] == [False] + [True] * 9
    assert {b["outcome"] for b in bodies} == {"fulfilled"}
    assert await any_stack.balance_of(account) == 1000
    assert len(await any_stack.credits_of(account)) == 1


async def test_same_event_ten_times_at_once_credits_once(any_stack):
    account, _, completed = await any_stack.completed_top_up()
    bodies = await asyncio.gather(*(any_stack.deliver(completed) for _ in range(10)))
    assert len(bodies) == 10
    assert await any_stack.balance_of(account) == 1000
    assert len(await any_stack.credits_of(account)) == 1


async def test_grpc_and_http_share_one_path_and_one_dedupe(stack):
    account, _, completed = await stack.completed_top_up()
    payload = payload_of(completed)
    request = pb.HandleStripeEventRequest(payload=payload, stripe_signature=sign(payload, WEBHOOK_SECRET))
    first = await stack.payment.HandleStripeEvent(request)
    assert (first.event_id, first.event_type, first.duplicate, first.outcome) == (
        completed["id"],
        "checkout.session.completed",
        False,
        pb.WEBHOOK_OUTCOME_FULFILLED,
    )
    assert (await stack.deliver(completed))["duplicate"] is True
    assert (await stack.payment.HandleStripeEvent(request)).duplicate
    assert await stack.balance_of(account) == 1000


def _bad_deliveries(completed: dict) -> dict[str, tuple[bytes, str]]:
    body = payload_of(completed)
    now = int(time.time())
    compact = json.dumps(completed, separators=(",", ":")).encode()
    return {
        "missing signature": (body, ""),
        "malformed signature": (body, "garbage"),
        "no v1 signature": (body, f"t={now},v0=abc"),
        "wrong secret": (body, sign(body, "whsec_someone_else")),
        "stale timestamp": (body, sign(body, WEBHOOK_SECRET, now - 301)),
        "future timestamp": (body, sign(body, WEBHOOK_SECRET, now + 301)),
        "re-serialised body": (compact, sign(body, WEBHOOK_SECRET)),
        "unparseable body": (b"{not json", sign(b"{not json", WEBHOOK_SECRET)),
        "not utf-8": (b"\xff\xfe{}", sign(b"\xff\xfe{}", WEBHOOK_SECRET)),
        "not an event": (b'{"id": "evt_1"}', sign(b'{"id": "evt_1"}', WEBHOOK_SECRET)),
    }


async def test_bad_deliveries_are_refused_with_400_and_change_nothing(stack):
    account, order_id, completed = await stack.completed_top_up()
    for case, (body, signature) in _bad_deliveries(completed).items():
        status, answer = await stack.post(body, signature=signature)
        assert (case, status, answer["error"]["reason"]) == (case, 400, "INVALID_WEBHOOK")
        request = pb.HandleStripeEventRequest(payload=body, stripe_signature=signature)
        await refused(stack.payment.HandleStripeEvent(request), INVALID, "INVALID_WEBHOOK")
    assert (await stack.order(order_id)).status == pb.ORDER_STATUS_PENDING
    assert await stack.balance_of(account) == 0
    # Nothing was recorded as processed: the genuine delivery still works.
    assert (await stack.deliver(completed))["outcome"] == "fulfilled"


async def test_oversized_body_is_refused(start_stack, single_redis):
    stack = await start_stack(single_redis, webhook_max_body_bytes=4096)
    body = b'{"padding": "' + b"x" * 5000 + b'"}'
    status, _ = await stack.post(body)
    assert status == 413
    request = pb.HandleStripeEventRequest(payload=body, stripe_signature=sign(body, WEBHOOK_SECRET))
    await refused(stack.payment.HandleStripeEvent(request), INVALID, "INVALID_WEBHOOK")


async def test_secret_can_be_rolled(start_stack, single_redis):
    stack = await start_stack(single_redis, stripe_webhook_secret="whsec_new, whsec_old")
    _, _, completed = await stack.completed_top_up()
    body = payload_of(completed)
    assert (await stack.post(body, secret="whsec_old"))[0] == 200
    _, _, other = await stack.completed_top_up()
    body = payload_of(other)
    # While Stripe rolls the secret it signs with both; one matching v1 signature is enough.
    both = sign(body, "whsec_unknown", extra_secrets=("whsec_new",))
    assert (await stack.post(body, signature=both))[0] == 200
    assert (await stack.post(body, secret="whsec_unknown"))[0] == 400


async def test_deduplication_survives_a_restart(start_stack, single_redis):
    first = await start_stack(single_redis)
    account, _, completed = await first.completed_top_up()
    await first.deliver(completed)
    restarted = await start_stack(single_redis)  # a new process on the same Redis
    body = await restarted.deliver(completed)
    assert (body["duplicate"], body["outcome"]) == (True, "fulfilled")
    assert await restarted.balance_of(account) == 1000


async def test_checkout_intent_events_leave_fulfilment_to_the_session(stack):
    account, order_id, completed = await stack.completed_top_up()
    succeeded = _event(stack, "payment_intent.succeeded", completed["data"]["object"]["payment_intent"])
    assert (await stack.deliver(succeeded))["outcome"] == "ignored_checkout_attempt"
    assert await stack.balance_of(account) == 0
    assert (await stack.deliver(completed))["outcome"] == "fulfilled"
    assert await stack.balance_of(account) == 1000
    assert (await stack.order(order_id)).status == pb.ORDER_STATUS_FULFILLED


async def test_expired_after_completed_is_ignored(stack):
    account, order_id, completed = await stack.completed_top_up()
    await stack.deliver(completed)
    expired = _variant(completed, "checkout.session.expired", status="expired")
    assert (await stack.deliver(expired))["outcome"] == "ignored_order_state"
    assert (await stack.order(order_id)).status == pb.ORDER_STATUS_FULFILLED
    assert await stack.balance_of(account) == 1000


async def test_refund_before_completed_credits_then_takes_back_once(stack):
    account, order_id, completed = await stack.completed_top_up()
    intent = completed["data"]["object"]["payment_intent"]
    stack.fake.store.refund({"payment_intent": intent}, (None, None))
    charge = stack.fake.store.get(stack.fake.store.get(intent, "payment_intent")["latest_charge"], "charge")
    refunded = _event(stack, "charge.refunded", charge["id"])
    assert (await stack.deliver(refunded))["outcome"] == "refunded"
    assert (await stack.deliver(completed))["outcome"] == "already_fulfilled"
    order = await stack.order(order_id)
    assert (order.status, order.refunded_minor, order.refund_shortfall_minor) == (
        pb.ORDER_STATUS_REFUNDED,
        1000,
        0,
    )
    assert await stack.balance_of(account) == 0
    assert len(await stack.credits_of(account)) == 1


async def test_unpaid_completion_waits_for_the_async_result(stack):
    account = unique("acct")
    session = await stack.top_up_session(account, 1)
    completed = stack.fake.complete_session(session.session_id, paid=False)
    assert (await stack.deliver(completed))["outcome"] == "awaiting_payment"
    assert (await stack.order(session.order.order_id)).status == pb.ORDER_STATUS_PENDING
    # The event's own copy saying "paid" is not trusted: Stripe's session still says unpaid.
    claimed = _variant(completed, "checkout.session.async_payment_succeeded", payment_status="paid")
    assert (await stack.deliver(claimed))["outcome"] == "awaiting_payment"
    assert await stack.balance_of(account) == 0
    succeeded = stack.fake.settle_async_payment(session.session_id)
    assert (await stack.deliver(succeeded))["outcome"] == "fulfilled"
    assert await stack.balance_of(account) == 1000


async def test_async_payment_failure_fails_the_order(stack):
    account = unique("acct")
    session = await stack.top_up_session(account, 1)
    completed = stack.fake.complete_session(session.session_id, paid=False)
    await stack.deliver(completed)
    failed = _variant(completed, "checkout.session.async_payment_failed")
    assert (await stack.deliver(failed))["outcome"] == "failed"
    order = await stack.order(session.order.order_id)
    assert (order.status, order.failure_reason) == (pb.ORDER_STATUS_FAILED, "async_payment_failed")
    assert await stack.balance_of(account) == 0


async def test_checkout_page_payment_failure_leaves_the_order_open(stack):
    _, order_id, completed = await stack.completed_top_up()
    intent = stack.fake.store.get(completed["data"]["object"]["payment_intent"], "payment_intent")
    failed = {**_event(stack, "payment_intent.succeeded", intent["id"]), "id": unique("evt_failed")}
    failed["type"] = "payment_intent.payment_failed"
    assert (await stack.deliver(failed))["outcome"] == "ignored_checkout_attempt"
    assert (await stack.order(order_id)).status == pb.ORDER_STATUS_PENDING


async def test_events_for_unknown_orders_and_types_are_acknowledged(stack):
    _, _, completed = await stack.completed_top_up()
    stranger = _variant(
        completed, "checkout.session.completed", id="cs_test_stranger", client_reference_id=None, metadata={}
    )
    assert (await stack.deliver(stranger))["outcome"] == "unknown_order"
    foreign = _variant(
        completed,
        "checkout.session.completed",
        id="cs_test_stranger",
        metadata={"order_id": "ord_ffffffffffffffffffffffff"},
    )
    assert (await stack.deliver(foreign))["outcome"] == "unknown_order"
    other = _variant(completed, "customer.updated")
    assert (await stack.deliver(other))["outcome"] == "ignored"


async def test_product_payment_redeems_the_code_and_publishes_order_paid_once(stack):
    await stack.create_code("SAVE15", percent_off=15)
    account = unique("acct")
    response = await stack.checkout(account, "launch-product", "SAVE15")
    completed = stack.fake.complete_session(response.session_id)
    await asyncio.gather(*(stack.deliver(completed) for _ in range(5)))
    await stack.deliver(
        _event(stack, "payment_intent.succeeded", completed["data"]["object"]["payment_intent"])
    )
    order = await stack.order(response.order.order_id)
    assert order.status == pb.ORDER_STATUS_FULFILLED
    code = await stack.code("SAVE15")
    assert (code.reserved_count, code.redeemed_count) == (0, 1)
    (event,) = await stack.order_events()
    assert event == {
        "type": "order.paid",
        "order_id": order.order_id,
        "account_id": account,
        "product_id": "launch-product",
        "amount_minor": str(order.amount_minor),
        "currency": "USD",
        "discount_code": "SAVE15",
        "stripe_payment_intent_id": order.stripe_payment_intent_id,
    }
    assert await stack.balance_of(account) == 0


async def test_expiry_releases_the_code_so_a_capped_code_can_be_used_again(stack):
    await stack.create_code("ONCE", percent_off=20, max_redemptions=1)
    first = await stack.checkout(unique("acct"), "launch-product", "ONCE")
    await refused(
        stack.checkout(unique("acct"), "launch-product", "ONCE"),
        grpc.StatusCode.FAILED_PRECONDITION,
        "DISCOUNT_CODE_EXHAUSTED",
    )
    expired = stack.fake.expire_session(first.session_id)
    assert (await stack.deliver(expired))["outcome"] == "expired"
    order = await stack.order(first.order.order_id)
    assert (order.status, order.checkout_url) == (pb.ORDER_STATUS_EXPIRED, "")
    assert (await stack.code("ONCE")).reserved_count == 0
    again = await stack.checkout(unique("acct"), "launch-product", "ONCE")
    assert again.order.discount_code == "ONCE"


@pytest.mark.parametrize("order_of_events", ["in order", "reversed"])
async def test_partial_refunds_are_taken_back_once_in_any_order(stack, order_of_events):
    account = unique("acct")
    order = await stack.paid_top_up(account, 2)
    refunds = []
    for amount in (500, 700):
        refund = stack.fake.store.refund(
            {"payment_intent": order.stripe_payment_intent_id, "amount": amount},
            (
                None,
                None,
            ),
        )
        refunds.append(stack.fake.refund_event(refund["id"]))
    if order_of_events == "reversed":
        refunds.reverse()
    for event in refunds * 2:
        await stack.deliver(event)
    read = await stack.order(order.order_id)
    assert (read.status, read.refunded_minor, read.refund_shortfall_minor) == (
        pb.ORDER_STATUS_REFUNDED,
        1200,
        0,
    )
    assert await stack.balance_of(account) == 2000 - 1200


def _hostile_bodies(completed: dict) -> dict[str, object]:
    session = completed["data"]["object"]

    def typed(event_type: str, **obj) -> dict:
        return {**completed, "id": unique("evt"), "type": event_type, "data": {"object": {**session, **obj}}}

    return {
        "array": [],
        "null": None,
        "number": 123,
        "string": "event",
        "id not a string": {**completed, "id": 123},
        "data not an object": {**completed, "data": []},
        "session id a number": typed("checkout.session.completed", id=123),
        "metadata a string": typed("checkout.session.completed", id="cs_test_other", metadata="x"),
        "intent metadata a list": typed("payment_intent.succeeded", metadata=[]),
        "charge id null": typed("charge.refunded", id=None),
        "refund charge a number": typed("charge.refund.updated", status="failed", charge=7),
        "dispute id a list": typed("charge.dispute.created", id=["dp_1"]),
    }


@pytest.mark.parametrize("name", list(_hostile_bodies({"id": "x", "data": {"object": {}}})))
async def test_signed_but_malformed_events_are_400_never_5xx(stack, name):
    account, order_id, completed = await stack.completed_top_up()
    body = json.dumps(_hostile_bodies(completed)[name]).encode()
    status, answer = await stack.post(body)
    assert (status, answer["error"]["reason"]) == (400, "INVALID_WEBHOOK")
    request = pb.HandleStripeEventRequest(payload=body, stripe_signature=sign(body, WEBHOOK_SECRET))
    await refused(stack.payment.HandleStripeEvent(request), INVALID, "INVALID_WEBHOOK")
    assert (await stack.order(order_id)).status == pb.ORDER_STATUS_PENDING
    assert await stack.balance_of(account) == 0
