"""The fake Stripe server, driven through the real stripe library (v16 async StripeClient)."""

import asyncio
import json
import sys
import time

import httpx
import pytest
import stripe
from aiohttp import web

from devtools.fake_stripe import FakeStripe
from devtools.fake_stripe.forms import decode
from devtools.fake_stripe.signing import sign

API_KEY = "sk_test_fake_123"
SECRET = "whsec_test_secret"


@pytest.fixture
async def fake():
    async with FakeStripe() as fake:
        yield fake


def make_client(url: str, api_key: str = API_KEY, retries: int = 0) -> stripe.StripeClient:
    return stripe.StripeClient(
        api_key,
        base_addresses={"api": url},
        http_client=stripe.HTTPXClient(),
        max_network_retries=retries,
    )


@pytest.fixture
def client(fake) -> stripe.StripeClient:
    return make_client(fake.url)


def session_params(**extra) -> dict:
    return {
        "mode": "payment",
        "line_items": [
            {
                "price_data": {"currency": "usd", "unit_amount": 1250, "product_data": {"name": "Credits"}},
                "quantity": 2,
            }
        ],
        "success_url": "https://example.test/ok",
        "cancel_url": "https://example.test/cancel",
        **extra,
    }


async def paid_intent(fake: FakeStripe, client: stripe.StripeClient, kind: str = "ok", **params):
    customer = await client.v1.customers.create_async({"email": "a@example.test"})
    pm = fake.attach_card(customer.id, kind)
    params = {"confirm": True, "off_session": True, "payment_method_types": ["card"], **params}
    base = {"amount": 2000, "currency": "usd", "customer": customer.id, "payment_method": pm}
    return await client.v1.payment_intents.create_async(
        base | {k: v for k, v in params.items() if v is not None}
    )


def test_decode_nested_form():
    assert decode("a[b][0][c]=1&a[b][1][c]=2&expand[]=x&metadata[0]=y&q=", "z=3") == {
        "a": {"b": [{"c": "1"}, {"c": "2"}]},
        "expand": ["x"],
        "metadata": {"0": "y"},
        "q": "",
        "z": "3",
    }


async def test_session_create_and_retrieve(fake, client):
    customer = await client.v1.customers.create_async({"email": "a@example.test", "metadata": {"u": "1"}})
    expires_at = int(time.time()) + 3600
    params = session_params(
        customer=customer.id,
        client_reference_id="order-1",
        metadata={"order": "1"},
        expires_at=expires_at,
        allow_promotion_codes=True,
        payment_intent_data={"setup_future_usage": "off_session", "metadata": {"order": "1"}},
    )
    session = await client.v1.checkout.sessions.create_async(params, options={"idempotency_key": "k1"})
    assert session.id.startswith("cs_test_") and session.object == "checkout.session"
    assert (session.amount_total, session.currency, session.status) == (2500, "usd", "open")
    assert (session.payment_status, session.payment_intent, session.livemode) == ("unpaid", None, False)
    assert (session.customer, session.client_reference_id, session.expires_at) == (
        customer.id,
        "order-1",
        expires_at,
    )
    assert session.url.startswith(fake.url) and session.metadata.to_dict() == {"order": "1"}
    assert (await client.v1.checkout.sessions.retrieve_async(session.id)).to_dict() == session.to_dict()
    recorded = fake.calls("POST", "/v1/checkout/sessions")[0]
    assert recorded.idempotency_key == "k1"
    assert recorded.params["line_items"][0]["price_data"]["unit_amount"] == "1250"


@pytest.mark.parametrize(
    ("params", "param", "code"),
    [
        (session_params(succes_url="x"), "succes_url", "parameter_unknown"),
        (
            session_params(line_items=[{"price_data": {"currency": "usd", "unit_amout": 5}, "quantity": 1}]),
            "line_items[0][price_data][unit_amout]",
            "parameter_unknown",
        ),
        (
            session_params(payment_intent_data={"setup_future_usage": "sometimes"}),
            "payment_intent_data[setup_future_usage]",
            None,
        ),
        (
            {"mode": "payment", "line_items": session_params()["line_items"]},
            "success_url",
            "parameter_missing",
        ),
        (session_params(expires_at=int(time.time()) + 600), "expires_at", None),
        (session_params(expires_at=int(time.time()) + 90000), "expires_at", None),
        (
            session_params(allow_promotion_codes=True, discounts=[{"coupon": "c"}]),
            "allow_promotion_codes",
            "parameters_exclusive",
        ),
    ],
)
async def test_session_params_are_checked(client, params, param, code):
    with pytest.raises(stripe.InvalidRequestError) as raised:
        await client.v1.checkout.sessions.create_async(params)
    assert (raised.value.param, raised.value.code, raised.value.http_status) == (param, code, 400)


async def test_session_total_below_minimum(client):
    items = [
        {"price_data": {"currency": "usd", "unit_amount": 49, "product_data": {"name": "x"}}, "quantity": 1}
    ]
    with pytest.raises(stripe.InvalidRequestError) as raised:
        await client.v1.checkout.sessions.create_async(session_params(line_items=items))
    assert raised.value.code == "amount_too_small"


async def test_idempotent_replay_and_mismatch(fake, client):
    first = await client.v1.customers.create_async({"name": "A"}, options={"idempotency_key": "same"})
    again = await client.v1.customers.create_async({"name": "A"}, options={"idempotency_key": "same"})
    assert again.id == first.id and again.to_dict() == first.to_dict()
    assert again.last_response.headers["Idempotent-Replayed"] == "true"
    assert first.last_response.headers["Request-Id"].startswith("req_")
    with pytest.raises(stripe.IdempotencyError):
        await client.v1.customers.create_async({"name": "B"}, options={"idempotency_key": "same"})
    with pytest.raises(stripe.InvalidRequestError):
        await client.v1.customers.create_async({}, options={"idempotency_key": "k" * 256})
    assert [o["id"] for o in fake.store.objects.values()] == [first.id]


@pytest.mark.parametrize("kind", ["drop_connection", "server_error"])
async def test_transient_failure_is_retried_with_the_same_key(fake, kind):
    client = make_client(fake.url, retries=2)
    fake.fail_next("/v1/customers", kind, method="POST")
    customer = await client.v1.customers.create_async({"email": "r@example.test"})
    attempts = fake.calls("POST", "/v1/customers")
    assert len(attempts) == 2 and attempts[0].idempotency_key == attempts[1].idempotency_key
    assert list(fake.store.objects) == [customer.id]


async def test_rate_limit_is_not_retried(fake):
    fake.fail_next("/v1/customers", "rate_limit")
    with pytest.raises(stripe.RateLimitError):
        await make_client(fake.url, retries=2).v1.customers.create_async({})
    assert len(fake.requests) == 1


async def test_injected_decline_on_payment_intent(fake, client):
    fake.fail_next("/v1/payment_intents", "card_declined")
    with pytest.raises(stripe.CardError) as raised:
        await paid_intent(fake, client, metadata={"order": "7"})
    error = raised.value.json_body["error"]
    assert (raised.value.http_status, raised.value.code, error["decline_code"]) == (
        402,
        "card_declined",
        "generic_decline",
    )
    intent = await client.v1.payment_intents.retrieve_async(error["payment_intent"]["id"])
    assert intent.status == "requires_payment_method" and intent.last_payment_error.code == "card_declined"
    assert [e["type"] for e in fake.events] == ["payment_intent.payment_failed"]


@pytest.mark.parametrize(
    ("kind", "code"), [("decline", "card_declined"), ("auth_required", "authentication_required")]
)
async def test_saved_card_failures(fake, client, kind, code):
    with pytest.raises(stripe.CardError) as raised:
        await paid_intent(fake, client, kind)
    assert raised.value.code == code
    assert raised.value.json_body["error"]["payment_intent"]["status"] == "requires_payment_method"


async def test_on_session_authentication_needs_action(fake, client):
    intent = await paid_intent(fake, client, "auth_required", off_session=False)
    assert intent.status == "requires_action" and intent.next_action.type == "use_stripe_sdk"


async def test_saved_card_success_and_refunds(fake, client):
    intent = await paid_intent(fake, client, description="top-up")
    assert intent.status == "succeeded" and intent.latest_charge.startswith("ch_")
    refund = await client.v1.refunds.create_async({"payment_intent": intent.id, "amount": 500})
    assert (refund.amount, refund.charge, refund.status) == (500, intent.latest_charge, "succeeded")
    with pytest.raises(stripe.InvalidRequestError) as raised:
        await client.v1.refunds.create_async({"charge": intent.latest_charge, "amount": 1501})
    assert raised.value.param == "amount"
    await client.v1.refunds.create_async({"charge": intent.latest_charge})
    event = fake.refund_event(refund.id)
    assert event["type"] == "charge.refunded" and event["data"]["object"]["refunded"] is True
    with pytest.raises(stripe.InvalidRequestError) as raised:
        await client.v1.refunds.create_async({"payment_intent": intent.id})
    assert raised.value.code == "charge_already_refunded"


async def test_payment_intent_minimum_amount(client):
    with pytest.raises(stripe.InvalidRequestError) as raised:
        await client.v1.payment_intents.create_async({"amount": 49, "currency": "usd"})
    assert (raised.value.param, raised.value.code) == ("amount", "amount_too_small")


async def test_complete_session_saves_card_for_customer(fake, client):
    customer = await client.v1.customers.create_async({"metadata": {"u": "1"}})
    session = await client.v1.checkout.sessions.create_async(
        session_params(customer=customer.id, payment_intent_data={"setup_future_usage": "off_session"})
    )
    event = fake.complete_session(session.id)
    assert event["type"] == "checkout.session.completed" and event["object"] == "event"
    completed = event["data"]["object"]
    assert (completed["status"], completed["payment_status"]) == ("complete", "paid")
    retrieved = await client.v1.checkout.sessions.retrieve_async(session.id, {"expand": ["payment_intent"]})
    intent = retrieved.payment_intent
    assert intent.id == completed["payment_intent"] and (intent.status, intent.amount) == ("succeeded", 2500)
    methods = await client.v1.customers.payment_methods.list_async(customer.id, {"type": "card"})
    assert [m.id for m in methods.data] == [intent.payment_method]
    updated = await client.v1.customers.update_async(
        customer.id,
        {
            "invoice_settings": {"default_payment_method": intent.payment_method},
            "metadata": {"u": "", "v": "2"},
        },
    )
    assert updated.invoice_settings.default_payment_method == intent.payment_method
    assert updated.metadata.to_dict() == {"v": "2"}
    listed = await client.v1.payment_methods.list_async({"customer": customer.id, "type": "card"})
    assert listed.data[0].card.last4 == "4242"
    with pytest.raises(stripe.InvalidRequestError):
        await client.v1.checkout.sessions.expire_async(session.id)


async def test_expire_session(fake, client):
    session = await client.v1.checkout.sessions.create_async(session_params())
    expired = await client.v1.checkout.sessions.expire_async(session.id)
    assert expired.status == "expired"
    assert fake.events[-1]["type"] == "checkout.session.expired"


async def test_auth_and_unknown_routes(fake):
    with pytest.raises(stripe.AuthenticationError):
        await make_client(fake.url, api_key="sk_live_nope").v1.customers.create_async({})
    async with httpx.AsyncClient(base_url=fake.url) as http:
        response = await http.get("/v1/charges", headers={"Authorization": f"Bearer {API_KEY}"})
        assert response.status_code == 404 and response.headers["Request-Id"].startswith("req_")
        assert response.json()["error"]["type"] == "invalid_request_error"
        missing = await http.get("/v1/customers/cus_nope", auth=(API_KEY, ""))
        assert missing.json()["error"]["code"] == "resource_missing"


def test_signature_verifies_with_stripe_library():
    payload = json.dumps({"id": "evt_1", "object": "event", "type": "x", "data": {"object": {}}}).encode()
    header = sign(payload, SECRET, extra_secrets=("whsec_old",))
    assert stripe.Webhook.construct_event(payload, header, SECRET).id == "evt_1"
    assert stripe.Webhook.construct_event(payload, header, "whsec_old").id == "evt_1"
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(payload, header, "whsec_other")
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(payload, sign(payload, SECRET, int(time.time()) - 3600), SECRET)


@pytest.fixture
async def webhook_receiver():
    received: list[stripe.Event] = []

    async def receive(request: web.Request) -> web.Response:
        body = await request.read()
        received.append(stripe.Webhook.construct_event(body, request.headers["Stripe-Signature"], SECRET))
        return web.Response()

    app = web.Application()
    app.router.add_post("/hook", receive)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}/hook", received
    await runner.cleanup()


async def test_events_are_posted_signed_to_the_webhook(webhook_receiver):
    url, received = webhook_receiver
    async with FakeStripe(webhook_url=url, webhook_secret=SECRET) as fake:
        session = await make_client(fake.url).v1.checkout.sessions.create_async(session_params())
        event = fake.complete_session(session.id, paid=False)
        await fake.flush_webhooks()
    assert [e.type for e in received] == ["checkout.session.completed"]
    assert received[0].id == event["id"] and received[0].data.object.payment_status == "unpaid"


async def test_process_mode_pays_session_through_its_url(webhook_receiver):
    url, received = webhook_receiver
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "devtools.fake_stripe", "--webhook-url", url, "--webhook-secret", SECRET,
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        base = (await asyncio.wait_for(process.stdout.readline(), 10)).decode().strip()
        client = make_client(base)
        session = await client.v1.checkout.sessions.create_async(session_params())
        async with httpx.AsyncClient() as http:
            assert (await http.post(session.url)).status_code == 200
            control = {"path_prefix": "/v1/customers", "kind": "card_declined"}
            assert (await http.post(f"{base}/_test/fail_next", data=control)).json() == {"result": None}
        with pytest.raises(stripe.CardError):
            await client.v1.customers.create_async({})
        for _ in range(50):
            if len(received) == 2:
                break
            await asyncio.sleep(0.1)
        assert [e.type for e in received] == ["payment_intent.succeeded", "checkout.session.completed"]
    finally:
        process.terminate()
        await process.wait()


@pytest.mark.parametrize(
    ("params", "param"),
    [
        ({}, "return_url"),
        ({"automatic_payment_methods": {"enabled": True}}, "return_url"),
        ({"payment_method_types": ["card"], "automatic_payment_methods": {"enabled": True}}, None),
        (
            {"payment_method_types": ["card"], "return_url": "https://example.test/back", "confirm": False},
            None,
        ),
        ({"automatic_payment_methods": {"enabled": True, "redirect": "never"}}, None),
    ],
    ids=["no-choice", "redirects-allowed", "both-choices", "return-url-without-confirm", "unknown-nested"],
)
async def test_payment_intent_payment_method_rules(fake, client, params, param):
    customer = await client.v1.customers.create_async({})
    pm = fake.attach_card(customer.id)
    base = {"amount": 2000, "currency": "usd", "customer": customer.id, "payment_method": pm, "confirm": True}
    with pytest.raises(stripe.InvalidRequestError) as raised:
        await client.v1.payment_intents.create_async(base | params)
    assert param is None or raised.value.param == param


async def test_redirects_off_or_a_return_url_confirms(fake, client):
    for choice in (
        {"automatic_payment_methods": {"enabled": True, "allow_redirects": "never"}},
        {"return_url": "https://example.test/back"},
    ):
        intent = await paid_intent(fake, client, payment_method_types=None, **choice)
        assert intent.status == "succeeded"


async def test_disputes_open_and_close(fake, client):
    intent = await paid_intent(fake, client)
    created = fake.create_dispute(intent.latest_charge)
    dispute = created["data"]["object"]
    assert (created["type"], dispute["status"], dispute["amount"]) == (
        "charge.dispute.created",
        "needs_response",
        2000,
    )
    assert dispute["payment_intent"] == intent.id
    closed = fake.close_dispute(dispute["id"], won=False)
    assert (closed["type"], closed["data"]["object"]["status"]) == ("charge.dispute.closed", "lost")
    fetched = await client.v1.disputes.retrieve_async(dispute["id"])
    assert fetched.status == "lost"


async def test_failed_refund_unrefunds_the_charge(fake, client):
    intent = await paid_intent(fake, client)
    refund = await client.v1.refunds.create_async({"payment_intent": intent.id, "amount": 500})
    updated = fake.fail_refund(refund.id)
    assert (updated["type"], updated["data"]["object"]["status"]) == ("charge.refund.updated", "failed")
    charge = await client.v1.charges.retrieve_async(intent.latest_charge)
    assert (charge.amount_refunded, charge.refunded) == (0, False)


async def test_payment_link_session_carries_the_buyers_reference(fake, client):
    session = fake.payment_link_session(100, "usd", "ord_chosen_by_buyer")
    assert (
        session["payment_link"].startswith("plink_")
        and session["client_reference_id"] == "ord_chosen_by_buyer"
    )
    completed = fake.complete_session(session["id"])
    assert completed["data"]["object"]["amount_total"] == 100
    fetched = await client.v1.checkout.sessions.retrieve_async(session["id"], {"expand": ["line_items"]})
    assert [item.amount_total for item in fetched.line_items.data] == [100]


async def test_hang_accepts_but_never_answers(fake):
    fake.hang()
    async with httpx.AsyncClient() as http:
        with pytest.raises(httpx.ReadTimeout):
            await http.get(f"{fake.url}/v1/customers/cus_1", auth=(API_KEY, ""), timeout=0.5)
    fake.hang(False)
    assert fake.requests[-1].path == "/v1/customers/cus_1"  # it was received


async def test_hang_is_a_process_mode_control(fake):
    async with httpx.AsyncClient() as http:
        assert (await http.post(f"{fake.url}/_test/hang", data={"on": "true"})).status_code == 200
        with pytest.raises(httpx.ReadTimeout):
            await http.get(f"{fake.url}/v1/customers/cus_1", auth=(API_KEY, ""), timeout=0.5)
        assert (await http.post(f"{fake.url}/_test/hang", data={"on": "false"})).status_code == 200
        answered = await http.get(f"{fake.url}/v1/customers/cus_1", auth=(API_KEY, ""), timeout=5)
        assert answered.status_code == 404
