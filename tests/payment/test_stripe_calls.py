"""Calls to Stripe: bounded by the caller's deadline and a budget, and exactly the parameters meant."""

from __future__ import annotations

import logging

import grpc
import pytest
from payment.v1 import payment_service_pb2 as pb

from payment_svc.errors import StripeRejected
from payment_svc.stripe_gateway import STRIPE_API_VERSION, StripeGateway
from tests.payment.conftest import payment_settings
from tests.payment.support import CANCEL_URL, SUCCESS_URL, refused, unique

UNAVAILABLE = grpc.StatusCode.UNAVAILABLE


def _checkout_request(account: str, code: str = "", request_id: str | None = None):
    return pb.CreateCheckoutSessionRequest(
        account_id=account,
        product_id="launch-product",
        discount_code=code,
        success_url=SUCCESS_URL,
        cancel_url=CANCEL_URL,
        request_id=request_id or unique("req"),
    )


async def test_stripe_down_releases_the_code_at_once(stack):
    await stack.create_code("ONCE", percent_off=20, max_redemptions=1)
    stack.fake.fail_next("/v1/checkout/sessions", "server_error", times=3)
    first = unique("acct")
    await refused(
        stack.checkout(first, "launch-product", "ONCE", request_id="r1"), UNAVAILABLE, "STRIPE_UNAVAILABLE"
    )
    assert (await stack.code("ONCE")).reserved_count == 0
    retried = await stack.checkout(first, "launch-product", "ONCE", request_id="r1")  # same request: resumes
    assert retried.session_id and (await stack.code("ONCE")).reserved_count == 1


async def test_stripe_down_lets_another_buyer_use_the_single_use_code(stack):
    await stack.create_code("ONCE", percent_off=20, max_redemptions=1)
    stack.fake.fail_next("/v1/checkout/sessions", "server_error", times=3)
    await refused(stack.checkout(unique("acct"), "launch-product", "ONCE"), UNAVAILABLE, "STRIPE_UNAVAILABLE")
    other = await stack.checkout(unique("acct"), "launch-product", "ONCE")
    assert other.order.discount_code == "ONCE"


@pytest.mark.parametrize(("deadline_s", "budget_s"), [(4.0, 10.0), (10.0, 1.0)], ids=["deadline", "budget"])
async def test_stripe_hanging_is_unavailable_before_the_callers_deadline(
    start_stack, single_redis, deadline_s, budget_s
):
    stack = await start_stack(single_redis, stripe_call_budget_s=budget_s)
    await stack.create_code("ONCE", percent_off=20, max_redemptions=1)
    stack.fake.hang()
    call = stack.payment.CreateCheckoutSession(_checkout_request(unique("acct"), "ONCE"), timeout=deadline_s)
    error = await refused(call, UNAVAILABLE, "STRIPE_UNAVAILABLE")
    assert "stripe.com" not in error.details() and "support" not in error.details()
    assert (await stack.code("ONCE")).reserved_count == 0
    stack.fake.hang(False)


async def test_no_stripe_boilerplate_in_our_errors(stack):
    stack.fake.fail_next("/v1/checkout/sessions", "server_error", times=3)
    error = await refused(stack.checkout(unique("acct"), "launch-product"), UNAVAILABLE, "STRIPE_UNAVAILABLE")
    assert error.details() == "Stripe cannot be reached"


async def test_every_request_pins_the_api_version(stack):
    await stack.paid_top_up(unique("acct"))
    versions = {r.headers.get("Stripe-Version") for r in stack.fake.requests}
    assert versions == {STRIPE_API_VERSION}


async def test_line_item_shows_the_display_name(stack):
    await stack.checkout(unique("acct"), "launch-product")
    (create,) = stack.fake.calls("POST", "/v1/checkout/sessions")
    assert create.params["line_items"][0]["price_data"]["product_data"]["name"] == "Launch-Product"


async def test_retry_after_the_session_window_opens_a_session_with_a_fresh_expiry(stack):
    account = unique("acct")
    stack.fake.fail_next("/v1/checkout/sessions", "server_error", times=3)
    await refused(stack.top_up_session(account, 1, request_id="late"), UNAVAILABLE, "STRIPE_UNAVAILABLE")
    stack.clock.advance(40 * 60 * 1000)  # the order's expires_at is now 20 minutes away
    response = await stack.top_up_session(account, 1, request_id="late")
    created = [c for c in stack.fake.calls("POST", "/v1/checkout/sessions") if c.status == 200]
    (create,) = created
    now_s = stack.clock.now_ms() // 1000
    assert now_s + 30 * 60 <= int(create.params["expires_at"]) <= now_s + 24 * 3600
    assert create.idempotency_key == f"checkout-{response.order.order_id}-{create.params['expires_at']}"


async def test_default_card_keys_never_repeat_when_cards_switch_back(stack):
    account = unique("acct")
    for _ in range(3):
        await stack.paid_top_up(account)
    updates = [c for c in stack.fake.calls("POST", "/v1/customers/") if "invoice_settings" in c.params]
    keys = [c.idempotency_key for c in updates]
    assert len(keys) == 3 and len(set(keys)) == 3 and all(len(k) <= 255 for k in keys)


async def test_off_session_charge_turns_redirects_off(stack):
    account = unique("acct")
    await stack.paid_top_up(account)
    await stack.saved_card_top_up(account, 1)
    (charge,) = stack.fake.calls("POST", "/v1/payment_intents")
    assert charge.params["automatic_payment_methods"] == {"enabled": "true", "allow_redirects": "never"}
    assert "return_url" not in charge.params and "payment_method_types" not in charge.params


async def test_a_parameter_named_like_a_request_option_is_refused_before_any_request(fake_stripe):
    # raw_request_async would take `idempotency_key` (or `headers`...) as an option, not send it to Stripe.
    gateway = StripeGateway(payment_settings({}, fake_stripe))
    with pytest.raises(ValueError, match="idempotency_key"):
        await gateway.refund({"payment_intent": "pi_1", "idempotency_key": "other"}, key="refund-o1-r1")
    await gateway.close()
    assert fake_stripe.requests == []


async def test_ids_in_paths_are_url_quoted_never_a_path_or_query_of_their_own(fake_stripe):
    gateway = StripeGateway(payment_settings({}, fake_stripe))
    with pytest.raises(StripeRejected):
        await gateway.retrieve_charge("ch_1/../../customers?limit=3")
    await gateway.close()
    (request,) = fake_stripe.requests
    assert (request.path, request.params) == ("/v1/charges/ch_1/../../customers?limit=3", {})


async def test_the_stripe_librarys_line_per_request_is_logged_only_at_debug(stack, caplog):
    with caplog.at_level(logging.INFO):
        await stack.checkout(unique("acct"), "launch-product")
    assert [r for r in caplog.records if r.name == "stripe"] == []
    with caplog.at_level(logging.DEBUG):
        await stack.checkout(unique("acct"), "launch-product")
    assert {r.getMessage().split()[0] for r in caplog.records if r.name == "stripe"} >= {"message='Request"}
