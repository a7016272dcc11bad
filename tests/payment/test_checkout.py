"""CreateCheckoutSession: Stripe is asked for exactly pricing_svc's quote, and every call is idempotent."""

from __future__ import annotations

import asyncio

import grpc
import pytest
from payment.v1 import payment_service_pb2 as pb
from pricing.v1 import pricing_service_pb2 as pri

from tests.payment.support import CANCEL_URL, SUCCESS_URL, product, refused, unique

INVALID = grpc.StatusCode.INVALID_ARGUMENT
FAILED = grpc.StatusCode.FAILED_PRECONDITION


async def _quote(stack, product_id: str, code: str = "", account: str = "") -> pri.Quote:
    request = pri.GetQuoteRequest(product_id=product_id, discount_code=code, account_id=account)
    return (await stack.pricing.GetQuote(request)).quote


@pytest.mark.parametrize(
    ("catalogue", "code"),
    [
        (product("p", mode=pri.PRICING_MODE_LAUNCH), ""),
        (product("p", mode=pri.PRICING_MODE_RRP), ""),
        (product("p", sale=pri.Sale(sale_price_minor=1999)), ""),
        (product("p", sale=pri.Sale(percent_off_list=35)), ""),
        (product("p", mode=pri.PRICING_MODE_RRP), "SAVE15"),
        (product("p", mode=pri.PRICING_MODE_LAUNCH), "SAVE15"),
    ],
    ids=["launch", "rrp", "sale-price", "sale-percent", "rrp-with-code", "launch-with-code"],
)
async def test_amount_sent_to_stripe_is_the_quote(stack, catalogue, code):
    await stack.set_products(catalogue)
    await stack.create_code("SAVE15", percent_off=15)
    account = unique("acct")
    quote = await _quote(stack, "p", code, account)
    response = await stack.checkout(account, "p", code)
    (create,) = stack.fake.calls("POST", "/v1/checkout/sessions")
    line = create.params["line_items"][0]
    assert int(line["price_data"]["unit_amount"]) == quote.final_amount_minor
    assert line["price_data"]["currency"] == "usd" and line["quantity"] == "1"
    assert response.order.amount_minor == quote.final_amount_minor
    assert response.order.quote.final_amount_minor == quote.final_amount_minor
    assert response.order.quote.config_version == quote.config_version
    assert response.order.discount_code == quote.discount_code == code
    session = stack.fake.store.get(response.session_id, "checkout.session")
    assert session["amount_total"] == quote.final_amount_minor


async def test_checkout_session_saves_the_card_and_carries_the_order(stack):
    account = unique("acct")
    response = await stack.checkout(account, "launch-product")
    order = response.order
    (create,) = stack.fake.calls("POST", "/v1/checkout/sessions")
    params = create.params
    assert create.idempotency_key == f"checkout-{order.order_id}-{params['expires_at']}"
    assert params["mode"] == "payment"
    assert params["payment_intent_data"]["setup_future_usage"] == "off_session"
    assert params["client_reference_id"] == order.order_id
    metadata = dict(params["metadata"])
    assert len(metadata.pop("correlation_id")) == 16  # the RPC's, made up as no caller sent one
    assert metadata == {"order_id": order.order_id, "account_id": account, "kind": "PRODUCT"}
    assert params["payment_intent_data"]["metadata"]["order_id"] == order.order_id
    assert (params["success_url"], params["cancel_url"]) == (SUCCESS_URL, CANCEL_URL)
    assert int(params["expires_at"]) == order.create_time.seconds + 3600
    assert params["customer"] == order.stripe_customer_id
    assert "allow_promotion_codes" not in params
    assert order.status == pb.ORDER_STATUS_PENDING
    assert response.checkout_url == order.checkout_url and response.checkout_url.startswith("http")
    assert response.session_id == order.stripe_checkout_session_id
    (customer,) = stack.fake.calls("POST", "/v1/customers")
    assert customer.idempotency_key == f"customer-{account}"
    assert customer.params["metadata"] == {"account_id": account}


async def test_an_account_keeps_one_stripe_customer(stack):
    account = unique("acct")
    first = await stack.checkout(account, "launch-product")
    second = await stack.checkout(account, "launch-product")
    assert first.order.stripe_customer_id == second.order.stripe_customer_id
    assert len(stack.fake.calls("POST", "/v1/customers")) == 1


async def test_retried_rpc_creates_one_order_and_one_session(stack):
    account = unique("acct")
    first = await stack.checkout(account, "launch-product", request_id="buy-1")
    again = await stack.checkout(account, "launch-product", request_id="buy-1")
    assert again.SerializeToString() == first.SerializeToString()
    assert len(stack.fake.calls("POST", "/v1/checkout/sessions")) == 1
    listed = await stack.payment.ListOrders(pb.ListOrdersRequest(account_id=account))
    assert [o.order_id for o in listed.orders] == [first.order.order_id]


async def test_concurrent_retries_open_one_stripe_session(stack):
    account = unique("acct")
    responses = await asyncio.gather(
        *(stack.checkout(account, "launch-product", request_id="buy-1") for _ in range(5))
    )
    assert len({r.session_id for r in responses}) == 1
    sessions = {o["id"] for o in stack.fake.store.objects.values() if o["object"] == "checkout.session"}
    assert sessions == {responses[0].session_id}


async def test_retry_after_stripe_failed_resumes_the_same_order(stack):
    account = unique("acct")
    stack.fake.fail_next("/v1/checkout/sessions", "server_error", times=3)
    await refused(
        stack.checkout(account, "launch-product", request_id="buy-1"),
        grpc.StatusCode.UNAVAILABLE,
        "STRIPE_UNAVAILABLE",
    )
    response = await stack.checkout(account, "launch-product", request_id="buy-1")
    assert response.session_id
    listed = await stack.payment.ListOrders(pb.ListOrdersRequest(account_id=account))
    assert [o.order_id for o in listed.orders] == [response.order.order_id]


async def test_request_id_reused_with_other_params_is_refused(stack):
    account = unique("acct")
    await stack.checkout(account, "launch-product", request_id="buy-1")
    await refused(
        stack.checkout(account, "launch-product", request_id="buy-1", success_url="https://other.example/"),
        FAILED,
        "REQUEST_ID_REUSED",
    )
    await refused(stack.top_up_session(account, 1, request_id="buy-1"), FAILED, "REQUEST_ID_REUSED")


async def test_free_order_is_fulfilled_without_stripe(stack):
    await stack.create_code("FREEBIE", percent_off=100)
    account = unique("acct")
    response = await stack.checkout(account, "launch-product", "FREEBIE")
    assert response.order.amount_minor == 0
    assert response.order.status == pb.ORDER_STATUS_FULFILLED
    assert (response.checkout_url, response.session_id) == ("", "")
    assert stack.fake.requests == []
    assert (await stack.code("FREEBIE")).redeemed_count == 1
    (event,) = await stack.order_events()
    assert event["type"] == "order.paid" and event["order_id"] == response.order.order_id


async def test_promotion_codes_are_offered_only_without_our_code(start_stack, single_redis):
    stack = await start_stack(single_redis, allow_promotion_codes=True)
    await stack.create_code("SAVE15", percent_off=15)
    await stack.checkout(unique("acct"), "launch-product")
    await stack.checkout(unique("acct"), "launch-product", "SAVE15")
    await stack.top_up_session(unique("acct"), 1)
    plain, coded, top_up = stack.fake.calls("POST", "/v1/checkout/sessions")
    assert plain.params["allow_promotion_codes"] == "true"
    assert "allow_promotion_codes" not in coded.params and "discounts" not in coded.params
    assert "allow_promotion_codes" not in top_up.params


async def test_code_that_cannot_be_applied_fails_with_its_reason(stack):
    await stack.create_code("ONCE", percent_off=20, max_redemptions=1)
    await stack.checkout(unique("acct"), "launch-product", "ONCE")
    await refused(stack.checkout(unique("acct"), "launch-product", "ONCE"), FAILED, "DISCOUNT_CODE_EXHAUSTED")
    assert len(stack.fake.calls("POST", "/v1/checkout/sessions")) == 1


async def test_code_is_reserved_for_the_order(stack):
    await stack.create_code("SAVE15", percent_off=15)
    await stack.checkout(unique("acct"), "launch-product", "save15")
    code = await stack.code("SAVE15")
    assert (code.reserved_count, code.redeemed_count) == (1, 0)


async def test_unknown_product_is_not_found_and_calls_no_stripe(stack):
    missing = stack.checkout(unique("acct"), "no-such-product")
    await refused(missing, grpc.StatusCode.NOT_FOUND, "PRODUCT_NOT_FOUND")
    assert stack.fake.requests == []


@pytest.mark.parametrize(
    "fields",
    [
        {"account_id": ""},
        {"account_id": "bad account"},
        {"product_id": ""},
        {"success_url": "ftp://shop.example/"},
        {"success_url": "/relative"},
        {"cancel_url": "https://"},
        {"cancel_url": "javascript:alert(1)"},
        {"request_id": ""},
    ],
)
async def test_bad_checkout_input_is_invalid_and_calls_no_stripe(stack, fields):
    request = pb.CreateCheckoutSessionRequest(
        account_id="acct-1",
        product_id="launch-product",
        success_url=SUCCESS_URL,
        cancel_url=CANCEL_URL,
        request_id="r-1",
    )
    for name, value in fields.items():
        setattr(request, name, value)
    await refused(stack.payment.CreateCheckoutSession(request), INVALID, "INVALID_ARGUMENT")
    assert stack.fake.requests == []
