"""The fake's hosted Checkout page at session.url: a small HTML page with one button per test card."""

from __future__ import annotations

import html
from urllib.parse import quote

from aiohttp import web

from svckit.currencies import minor_exponent

from .errors import StripeError

# Button label per card kind (objects.CARDS), in the order the page shows them.
CARD_LABELS = {
    "ok": "Pay with a card that succeeds",
    "decline": "Pay with a card that is declined",
    "auth_required": "Pay with a card that needs authentication",
}
CARD_NUMBERS = {
    "ok": "4242 4242 4242 4242",
    "decline": "4000 0000 0000 0002",
    "auth_required": "4000 0027 6000 3184",
}
AUTH_FAILED = "We are unable to authenticate your payment method. Please choose a different payment method."
# Where the page's forms post; the bare session URL keeps its JSON test control (app._pay).
PAY_PATH, AUTH_PATH = "/c/pay/{session}/card", "/c/pay/{session}/authenticate"
LANDING_PATH = "/c/landing"

_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 28rem; margin: 3rem auto; padding: 0 1rem; }
.banner { background: #fff4e5; border: 1px solid #f5a623; padding: .5rem .75rem; font-size: .9rem; }
.amount { font-size: 2rem; font-weight: 600; margin: .25rem 0 1rem; }
table { width: 100%; border-collapse: collapse; margin-bottom: 1.5rem; }
td { padding: .25rem 0; } td.total { text-align: right; }
button { display: block; width: 100%; margin: .5rem 0; padding: .75rem; font-size: 1rem; cursor: pointer; }
.card { color: #697386; font-size: .8rem; }
.error { color: #df1b41; font-weight: 600; }
"""


def format_amount(amount_minor: int, currency: str) -> str:
    """Major units per ISO 4217's minor exponent: (2999, "usd") -> "USD 29.99", (500, "jpy") -> "JPY 500"."""
    code = currency.upper()
    exponent = minor_exponent(code)
    if not exponent:  # zero-decimal, or a code the table does not know: show the integer as it is
        return f"{code} {amount_minor:,}"
    major, minor = divmod(amount_minor, 10**exponent)
    return f"{code} {major:,}.{minor:0{exponent}d}"


class HostedPage:
    """Handlers of the page a Checkout Session's `url` opens; paying runs the fake's usual flows."""

    def __init__(self, fake) -> None:
        self.fake = fake

    def add_routes(self, router: web.UrlDispatcher) -> None:
        router.add_get("/c/pay/{session}", self.show)
        router.add_post(PAY_PATH, self.pay)
        router.add_post(AUTH_PATH, self.authenticate)
        router.add_get(LANDING_PATH, self.landing)

    async def show(self, request: web.Request) -> web.Response:
        return self._page(request.match_info["session"])

    async def pay(self, request: web.Request) -> web.Response:
        session_id, card = request.match_info["session"], (await request.post()).get("card")
        if card not in CARD_LABELS:
            return self._page(session_id, error=f"Unknown test card {card!r}.", status=400)
        if (gone := self._gone(session_id)) is not None:
            return gone
        if card == "ok":
            return self._paid(session_id)
        if card == "auth_required":  # Stripe's 3D Secure step: the customer approves or fails it
            return self._challenge(session_id)
        # The failed attempt leaves the session open for another card, as on Stripe's page.
        return self._page(session_id, error=self._declined_attempt(session_id), status=402)

    async def authenticate(self, request: web.Request) -> web.Response:
        session_id, outcome = request.match_info["session"], (await request.post()).get("outcome")
        if (gone := self._gone(session_id)) is not None:
            return gone
        if outcome == "complete":
            return self._paid(session_id)
        return self._page(session_id, error=AUTH_FAILED, status=402)

    async def landing(self, request: web.Request) -> web.Response:
        """Stands in for a shop's success/cancel page, so a local purchase ends on a page that exists."""
        session_id = request.query.get("session_id", "")
        session = self.fake.store.objects.get(session_id) or {}
        state = (
            f"<p>Checkout Session <code>{_esc(session_id)}</code>: status <b>{_esc(session['status'])}</b>, "
            f"payment <b>{_esc(session['payment_status'])}</b>.</p>"
            if session.get("object") == "checkout.session"
            else "<p>You left Checkout without paying.</p>"
        )
        body = f"<h1>Back at the shop</h1>{state}<p>The order's own state is in payment_svc: GetOrder.</p>"
        return _html("Back at the shop", body)

    def _session(self, session_id: str) -> dict | None:
        session = self.fake.store.objects.get(session_id)
        return session if session and session.get("object") == "checkout.session" else None

    def _gone(self, session_id: str) -> web.Response | None:
        """The page to show instead of paying, if the session is unknown or no longer open."""
        session = self._session(session_id)
        if session is None:
            return _html("Not found", "<h1>This Checkout page does not exist.</h1>", status=404)
        if session["status"] != "open":
            body = (
                f"<h1>This Checkout Session is {_esc(session['status'])}.</h1><p>Nothing was charged now.</p>"
            )
            return _html("Checkout closed", body, status=410)
        return None

    def _paid(self, session_id: str) -> web.Response:
        """Completes the session paid (card 4242) and sends the browser to success_url, with Stripe's
        {CHECKOUT_SESSION_ID} placeholder filled in."""
        self.fake.complete_session(session_id, paid=True)
        success_url = (
            self._session(session_id)["success_url"] or LANDING_PATH + "?session_id={CHECKOUT_SESSION_ID}"
        )
        return web.Response(
            status=303, headers={"Location": success_url.replace("{CHECKOUT_SESSION_ID}", quote(session_id))}
        )

    def _declined_attempt(self, session_id: str) -> str:
        """Charges a declining card for the session's amount, as Checkout does (a failed PaymentIntent
        and its payment_intent.payment_failed event); the decline message."""
        session, store = self._session(session_id), self.fake.store
        intent_data = store.session_extras[session_id].get("payment_intent_data") or {}
        method = store.attach_card(None, "decline")
        params = {
            "amount": session["amount_total"],
            "currency": session["currency"],
            "customer": session["customer"],
            "metadata": intent_data.get("metadata") or {},
            "payment_method": method["id"],
            "payment_method_types": ["card"],  # the page takes cards only, as the session does
            "confirm": True,
        }
        try:
            store.create_payment_intent(params, None, (None, None))
        except StripeError as error:
            return error.message
        raise AssertionError("a declining test card was charged")

    def _page(self, session_id: str, *, error: str = "", status: int = 200) -> web.Response:
        if (gone := self._gone(session_id)) is not None:
            return gone
        session = self._session(session_id)
        currency = session["currency"]
        rows = "".join(
            f"<tr><td>{_esc(name)} &times; {qty}</td>"
            f"<td class='total'>{_esc(format_amount(total, currency))}</td></tr>"
            for name, qty, total in self._line_items(session_id)
        )
        action = _esc(PAY_PATH.format(session=quote(session_id)))
        buttons = "".join(
            _button("card", kind, f"pay-{kind}", label, f"<br><span class='card'>{CARD_NUMBERS[kind]}</span>")
            for kind, label in CARD_LABELS.items()
        )
        error_html = f"<p class='error' id='error' role='alert'>{_esc(error)}</p>" if error else ""
        body = (
            "<p class='banner'>Local Stripe test double: no real card is charged and no money moves.</p>"
            f"<h1 id='product'>{_esc(self._title(session_id))}</h1>"
            f"<p class='amount' id='amount'>{_esc(format_amount(session['amount_total'], currency))}</p>"
            f"<table>{rows}</table>{error_html}"
            f"<form method='post' action='{action}'>{buttons}</form>"
            f"<p><a id='cancel' href='{_esc(session['cancel_url'] or '')}'>&larr; Back (cancel)</a></p>"
        )
        return _html("Checkout", body, status=status)

    def _challenge(self, session_id: str) -> web.Response:
        action = _esc(AUTH_PATH.format(session=quote(session_id)))
        body = (
            "<p class='banner'>Local Stripe test double: a stand-in for the bank's 3D Secure page.</p>"
            "<h1>Authenticate this payment</h1>"
            f"<form method='post' action='{action}'>"
            f"{_button('outcome', 'complete', 'auth-complete', 'Complete authentication')}"
            f"{_button('outcome', 'fail', 'auth-fail', 'Fail authentication')}</form>"
        )
        return _html("Authenticate", body)

    def _line_items(self, session_id: str) -> list[tuple[str, int, int]]:
        """(product name, quantity, line total) per line item the session was created with."""
        items = self.fake.store.session_extras[session_id]["line_items"]
        return [
            (
                (item["price_data"].get("product_data") or {}).get("name")
                or item["price_data"].get("product"),
                item["quantity"],
                item["price_data"]["unit_amount"] * item["quantity"],
            )
            for item in items
        ]

    def _title(self, session_id: str) -> str:
        names = [name for name, _, _ in self._line_items(session_id)]
        return names[0] if len(names) == 1 else f"{len(names)} items"


def _button(name: str, value: str, element_id: str, label: str, extra_html: str = "") -> str:
    return (
        f"<button type='submit' name='{name}' value='{value}' id='{element_id}'>{label}{extra_html}</button>"
    )


def _esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def _html(title: str, body: str, *, status: int = 200) -> web.Response:
    page = (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{_esc(title)}</title><style>{_STYLE}</style></head><body>{body}</body></html>"
    )
    return web.Response(status=status, text=page, content_type="text/html")
