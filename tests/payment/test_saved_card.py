"""TopUpWithSavedCard: off-session charges credit once; declines, authentication and outages are handled."""

from __future__ import annotations

import grpc
from payment.v1 import payment_service_pb2 as pb

from tests.payment.support import refused, unique

FAILED = grpc.StatusCode.FAILED_PRECONDITION


def _events(stack, event_type: str) -> list[dict]:
    return [e for e in stack.fake.events if e["type"] == event_type]


async def test_checkout_top_up_saves_the_card_as_default(stack):
    account = unique("acct")
    order = await stack.paid_top_up(account)
    customer = stack.fake.store.get(order.stripe_customer_id, "customer")
    intent = stack.fake.store.get(order.stripe_payment_intent_id, "payment_intent")
    assert customer["invoice_settings"]["default_payment_method"] == intent["payment_method"]


async def test_off_session_top_up_charges_the_saved_card_and_credits_once(stack):
    account = unique("acct")
    first = await stack.paid_top_up(account)
    response = await stack.saved_card_top_up(account, 2, request_id="again-1")
    order = response.order
    assert order.status == pb.ORDER_STATUS_FULFILLED and response.action_url == ""
    assert await stack.balance_of(account) == 1000 + 2000
    (create,) = stack.fake.calls("POST", "/v1/payment_intents")
    assert create.idempotency_key == f"topup-pi-{order.order_id}"
    card = stack.fake.store.get(first.stripe_customer_id, "customer")["invoice_settings"][
        "default_payment_method"
    ]
    assert create.params["off_session"] == "true" and create.params["confirm"] == "true"
    assert create.params["payment_method"] == card
    assert (create.params["amount"], create.params["currency"]) == ("2000", "usd")
    assert create.params["customer"] == first.stripe_customer_id
    assert create.params["metadata"]["order_id"] == order.order_id
    # The webhook for the same charge arrives afterwards: same fulfilment path, nothing more is credited.
    (succeeded,) = [
        e
        for e in _events(stack, "payment_intent.succeeded")
        if e["data"]["object"]["id"] == (order.stripe_payment_intent_id)
    ]
    assert (await stack.deliver(succeeded))["outcome"] == "already_fulfilled"
    again = await stack.saved_card_top_up(account, 2, request_id="again-1")
    assert again.SerializeToString() == response.SerializeToString()
    assert len(stack.fake.calls("POST", "/v1/payment_intents")) == 1
    assert await stack.balance_of(account) == 3000
    assert len(await stack.credits_of(account)) == 2


async def test_declined_card_fails_the_order_and_credits_nothing(stack):
    account = unique("acct")
    paid = await stack.paid_top_up(account)
    stack.fake.fail_next("/v1/payment_intents", "card_declined")
    error = await refused(stack.saved_card_top_up(account, 1, request_id="declined"), FAILED, "CARD_DECLINED")
    assert "declined" in error.details()
    assert await stack.balance_of(account) == 1000
    listed = await stack.payment.ListOrders(pb.ListOrdersRequest(account_id=account))
    (declined,) = [o for o in listed.orders if o.order_id != paid.order_id]
    assert declined.status == pb.ORDER_STATUS_FAILED and declined.failure_reason.startswith("card_declined")
    # A retry of the same request gives the same answer without charging again.
    await refused(stack.saved_card_top_up(account, 1, request_id="declined"), FAILED, "CARD_DECLINED")
    assert len(stack.fake.calls("POST", "/v1/payment_intents")) == 1


async def test_saved_card_that_always_declines_is_card_declined(stack):
    account = unique("acct")
    customer = (await stack.top_up_session(account, 1)).order.stripe_customer_id
    stack.fake.attach_card(customer, "decline")
    await refused(stack.saved_card_top_up(account, 1), FAILED, "CARD_DECLINED")
    assert await stack.balance_of(account) == 0


async def test_authentication_required_needs_action_and_credits_only_once_finished(stack):
    account = unique("acct")
    await stack.paid_top_up(account)
    stack.fake.fail_next("/v1/payment_intents", "authentication_required")
    response = await stack.saved_card_top_up(account, 3)
    order = response.order
    assert order.status == pb.ORDER_STATUS_REQUIRES_ACTION
    assert order.failure_reason == "authentication_required"
    assert response.action_url and response.action_url == order.checkout_url
    assert await stack.balance_of(account) == 1000
    (action,) = [
        c for c in stack.fake.calls("POST", "/v1/checkout/sessions") if order.order_id in c.idempotency_key
    ]
    assert action.params["line_items"][0]["price_data"]["unit_amount"] == "3000"
    (failed,) = _events(stack, "payment_intent.payment_failed")
    assert (await stack.deliver(failed))["outcome"] == "requires_action"
    # The customer authenticates on the Checkout page: the same order is paid and credited once.
    completed = stack.fake.complete_session(order.stripe_checkout_session_id)
    assert (await stack.deliver(completed))["outcome"] == "fulfilled"
    finished = await stack.order(order.order_id)
    assert finished.status == pb.ORDER_STATUS_FULFILLED
    assert finished.stripe_payment_intent_id == completed["data"]["object"]["payment_intent"]
    assert await stack.balance_of(account) == 1000 + 3000


async def test_account_without_saved_card_is_refused_without_charging(stack):
    await refused(stack.saved_card_top_up(unique("new"), 1), FAILED, "NO_SAVED_PAYMENT_METHOD")
    assert stack.fake.requests == []
    account = unique("acct")
    await stack.top_up_session(account, 1)  # has a Customer, but never paid
    await refused(stack.saved_card_top_up(account, 1), FAILED, "NO_SAVED_PAYMENT_METHOD")
    assert stack.fake.calls("POST", "/v1/payment_intents") == []


async def test_rate_limit_and_server_errors_are_retried_with_the_same_key(stack):
    account = unique("acct")
    await stack.paid_top_up(account)
    stack.fake.fail_next("/v1/payment_intents", "rate_limit")
    stack.fake.fail_next("/v1/payment_intents", "server_error")
    stack.fake.fail_next("/v1/payment_intents", "drop_connection")
    response = await stack.saved_card_top_up(account, 1)
    assert response.order.status == pb.ORDER_STATUS_FULFILLED
    attempts = stack.fake.calls("POST", "/v1/payment_intents")
    assert len(attempts) == 4
    assert {a.idempotency_key for a in attempts} == {f"topup-pi-{response.order.order_id}"}
    intents = [o for o in stack.fake.store.objects.values() if o["object"] == "payment_intent"]
    assert len(intents) == 2  # the Checkout one and this one: the dropped answer was replayed, not redone
    assert await stack.balance_of(account) == 2000


async def test_stripe_unreachable_is_unavailable_and_a_retry_charges_once(stack):
    account = unique("acct")
    await stack.paid_top_up(account)
    stack.fake.fail_next("/v1/payment_intents", "rate_limit", times=3)  # every attempt of one call
    await refused(
        stack.saved_card_top_up(account, 1, request_id="busy"),
        grpc.StatusCode.UNAVAILABLE,
        "STRIPE_UNAVAILABLE",
    )
    assert await stack.balance_of(account) == 1000
    response = await stack.saved_card_top_up(account, 1, request_id="busy")
    assert response.order.status == pb.ORDER_STATUS_FULFILLED
    assert await stack.balance_of(account) == 2000
