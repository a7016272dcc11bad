"""The fake Stripe's hosted Checkout page over HTTP: what it shows, what each card does, where it goes."""

import httpx
import pytest
import stripe

from devtools.fake_stripe import FakeStripe
from devtools.fake_stripe.hosted_page import format_amount

API_KEY = "sk_test_hosted_page"


@pytest.fixture
async def fake():
    async with FakeStripe() as fake:
        yield fake


async def open_session(fake: FakeStripe, name: str = "Credits", **extra) -> stripe.checkout.Session:
    client = stripe.StripeClient(API_KEY, base_addresses={"api": fake.url}, http_client=stripe.HTTPXClient())
    params = {
        "mode": "payment",
        "line_items": [
            {
                "price_data": {"currency": "usd", "unit_amount": 1250, "product_data": {"name": name}},
                "quantity": 2,
            }
        ],
        "success_url": "https://shop.example/paid?session={CHECKOUT_SESSION_ID}",
        "cancel_url": "https://shop.example/cart",
        "payment_intent_data": {"metadata": {"order_id": "ord_1", "channel": "checkout"}},
        **extra,
    }
    return await client.v1.checkout.sessions.create_async(params)


async def submit(session: stripe.checkout.Session, path: str, **form: str) -> httpx.Response:
    async with httpx.AsyncClient() as http:  # no redirects followed: the test reads Location itself
        return await http.post(f"{session.url}/{path}", data=form)


@pytest.mark.parametrize(
    ("minor", "currency", "shown"),
    [
        (2999, "usd", "USD 29.99"),
        (5, "eur", "EUR 0.05"),
        (123456789, "usd", "USD 1,234,567.89"),
        (500, "jpy", "JPY 500"),
        (1234, "bhd", "BHD 1.234"),
    ],
)
def test_amounts_are_shown_in_major_units_by_the_currencys_minor_exponent(minor, currency, shown):
    assert format_amount(minor, currency) == shown


async def test_the_page_shows_the_product_and_the_total_with_a_button_per_test_card(fake):
    session = await open_session(fake)
    async with httpx.AsyncClient() as http:
        page = await http.get(session.url)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "<h1 id='product'>Credits</h1>" in page.text
    assert "<p class='amount' id='amount'>USD 25.00</p>" in page.text
    for card in ("ok", "decline", "auth_required"):
        assert f"name='card' value='{card}'" in page.text
    assert "href='https://shop.example/cart'" in page.text


async def test_the_page_escapes_what_the_caller_named_the_product(fake):
    session = await open_session(fake, name="<script>alert(1)</script>")
    async with httpx.AsyncClient() as http:
        page = await http.get(session.url)
    assert "<script>" not in page.text and "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text


async def test_paying_completes_the_session_and_redirects_to_success_url_with_its_id(fake):
    session = await open_session(fake)
    answer = await submit(session, "card", card="ok")
    assert answer.status_code == 303
    assert answer.headers["location"] == f"https://shop.example/paid?session={session.id}"
    assert [e["type"] for e in fake.events] == ["payment_intent.succeeded", "checkout.session.completed"]
    assert fake.store.get(session.id, "checkout.session")["payment_status"] == "paid"


async def test_a_declined_card_fails_one_payment_intent_and_leaves_the_session_open(fake):
    session = await open_session(fake)
    answer = await submit(session, "card", card="decline")
    assert answer.status_code == 402 and "Your card was declined." in answer.text
    [event] = fake.events
    assert event["type"] == "payment_intent.payment_failed"
    assert event["data"]["object"]["metadata"] == {"order_id": "ord_1", "channel": "checkout"}
    assert event["data"]["object"]["amount"] == 2500
    assert fake.store.get(session.id, "checkout.session")["status"] == "open"


async def test_a_card_needing_authentication_pays_only_once_authenticated(fake):
    session = await open_session(fake)
    challenge = await submit(session, "card", card="auth_required")
    assert challenge.status_code == 200 and "value='complete'" in challenge.text and not fake.events

    failed = await submit(session, "authenticate", outcome="fail")
    assert failed.status_code == 402 and "unable to authenticate" in failed.text
    assert fake.store.get(session.id, "checkout.session")["status"] == "open" and not fake.events

    done = await submit(session, "authenticate", outcome="complete")
    assert done.status_code == 303 and fake.events[-1]["type"] == "checkout.session.completed"


async def test_a_closed_or_unknown_session_cannot_be_paid_again(fake):
    session = await open_session(fake)
    assert (await submit(session, "card", card="ok")).status_code == 303
    paid_events = list(fake.events)

    again = await submit(session, "card", card="ok")
    assert again.status_code == 410 and "is complete" in again.text
    assert (await submit(session, "authenticate", outcome="complete")).status_code == 410
    assert fake.events == paid_events
    async with httpx.AsyncClient() as http:
        assert (await http.get(f"{fake.url}/c/pay/cs_test_nope")).status_code == 404


async def test_an_unknown_test_card_is_refused_without_a_charge(fake):
    session = await open_session(fake)
    answer = await submit(session, "card", card="amex")
    assert answer.status_code == 400 and "Unknown test card" in answer.text and not fake.events


async def test_the_bare_session_url_still_completes_it_as_a_json_test_control(fake):
    session = await open_session(fake)
    async with httpx.AsyncClient() as http:
        answer = await http.post(session.url, data={"paid": "false"})
    assert answer.json()["type"] == "checkout.session.completed"
