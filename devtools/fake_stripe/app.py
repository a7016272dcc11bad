"""HTTP layer: Stripe's auth, failure injection, idempotency and param checks around the /v1 routes."""

import asyncio
import base64
import binascii
import json
from dataclasses import dataclass

from aiohttp import web

from . import forms
from .errors import StripeError, card_error, invalid
from .hosted_page import HostedPage
from .objects import API_VERSION, new_id
from .state import RecordedRequest, Reply, Store
from .validation import validate

FAKE = web.AppKey("fake", object)  # the FakeStripe serving this app
# fail_next kinds that make a card fail, and the saved-card kind they stand for.
CARD_FAILURES = {"card_declined": "decline", "authentication_required": "auth_required"}
_CONTROLS = set(
    "attach_card complete_session expire_session fail_next payment_intent_event refund_event "
    "create_dispute close_dispute fail_refund payment_link_session settle_async_payment hang".split()
)


@dataclass
class Call:
    """One checked API call, as the operations below see it."""

    store: Store
    params: dict
    ids: dict[str, str]  # ids from the URL path
    path: str
    origin: tuple[str, str | None]  # (request id, idempotency key), stamped on the events it causes
    forced_card: str | None  # a fail_next card kind, for the charge it makes


# Endpoint -> operation returning the 200 body (or raising StripeError); keys match params.json.
OPERATIONS = {
    "POST /v1/customers": lambda c: c.store.create_customer(c.params),
    "GET /v1/customers/{customer}": lambda c: c.store.get(c.ids["customer"], "customer"),
    "POST /v1/customers/{customer}": lambda c: c.store.update_customer(c.ids["customer"], c.params),
    "GET /v1/customers/{customer}/payment_methods": (
        lambda c: c.store.list_payment_methods(c.ids["customer"], c.params, c.path)
    ),
    "GET /v1/payment_methods": (
        lambda c: c.store.list_payment_methods(c.params.get("customer"), c.params, c.path)
    ),
    "POST /v1/checkout/sessions": lambda c: c.store.create_session(c.params),
    "GET /v1/checkout/sessions/{session}": (
        lambda c: c.store.retrieve_session(c.ids["session"], c.params.get("expand"))
    ),
    "POST /v1/checkout/sessions/{session}/expire": (
        lambda c: c.store.expire_session(c.ids["session"], c.origin)["data"]["object"]
    ),
    "POST /v1/payment_intents": lambda c: c.store.create_payment_intent(c.params, c.forced_card, c.origin),
    "GET /v1/payment_intents/{intent}": lambda c: c.store.get(c.ids["intent"], "payment_intent"),
    "POST /v1/refunds": lambda c: c.store.refund(c.params, c.origin),
    "GET /v1/charges/{charge}": lambda c: c.store.get(c.ids["charge"], "charge"),
    "GET /v1/disputes/{dispute}": lambda c: c.store.get(c.ids["dispute"], "dispute"),
}


def build_app(fake) -> web.Application:
    app = web.Application()
    app[FAKE] = fake
    for endpoint in OPERATIONS:
        app.router.add_route(*endpoint.split(" "), _api)
    # Test controls for process mode; session URLs point at /c/pay/ like Stripe's hosted page does.
    app.router.add_post("/c/pay/{session}", _pay)
    HostedPage(fake).add_routes(app.router)  # the HTML page a browser opens at session.url
    app.router.add_post("/_test/{control}", _control)
    app.router.add_route("*", "/{tail:.*}", _api)  # unknown URLs: 404 once authenticated
    return app


async def _api(request: web.Request) -> web.Response:
    fake = request.app[FAKE]
    request_id, key = new_id("req_", 14), request.headers.get("Idempotency-Key")
    headers = {"Request-Id": request_id, "Stripe-Version": request.headers.get("Stripe-Version", API_VERSION)}
    recorded = RecordedRequest(request.method, request.path, {}, key, dict(request.headers))
    fake.requests.append(recorded)
    raw = await request.text()
    await fake.wait_while_hanging()
    if fake.latency_ms:
        await asyncio.sleep(fake.latency_ms / 1000)
    failure, executed = None, False
    idempotent = key is not None and request.method == "POST"
    try:
        recorded.params = params = forms.decode(request.query_string, raw)
        api_key = _api_key(request.headers.get("Authorization", ""))
        failure = fake.take_failure(request.method, request.path)
        endpoint = f"{request.method} {request.match_info.route.resource.canonical}"
        _raise_injected(failure, endpoint)
        if key is not None and len(key) > 255:
            raise invalid("Idempotency-Key must be at most 255 characters long.")
        fingerprint = (endpoint, request.path, json.dumps(params, sort_keys=True))
        saved = fake.store.replies.get((api_key, key)) if idempotent else None
        if saved and saved.fingerprint != fingerprint:
            raise StripeError(
                400,
                "Keys for idempotent requests can only be used with the same parameters they were first "
                f"used with. Try using a key other than '{key}' if you meant to execute a different request.",
                type="idempotency_error",
            )
        if saved:
            headers |= {"Idempotent-Replayed": "true", "Original-Request": saved.request_id}
            return _respond(recorded, saved.status, saved.body, headers | {"Idempotency-Key": key})
        if endpoint not in OPERATIONS:
            raise StripeError(
                404,
                f"Unrecognized request URL ({request.method}: {request.path}). Please see "
                "https://stripe.com/docs or we can help at https://support.stripe.com/.",
            )
        checked = validate(endpoint, params)
        executed = True
        ids, forced_card = dict(request.match_info), CARD_FAILURES.get(failure)
        call = Call(fake.store, checked, ids, request.path, (request_id, key), forced_card)
        status, body = 200, fake.store.expanded(OPERATIONS[endpoint](call), checked.get("expand"))
    except StripeError as error:
        status, body = error.status, error.body()
    payload = json.dumps(body, indent=2).encode()
    # Like Stripe, a result is saved for replay only once the call started executing.
    if executed and idempotent and status != 400:
        fake.store.replies[(api_key, key)] = Reply(fingerprint, status, payload, request_id)
        headers["Idempotency-Key"] = key
    if failure == "drop_connection" and request.transport:
        # The call ran (and was saved for replay) but its answer is lost, as on a network cut.
        request.transport.close()
    return _respond(recorded, status, payload, headers)


def _api_key(authorization: str) -> str:
    scheme, _, credential = authorization.partition(" ")
    if scheme.lower() == "basic":
        try:
            credential = base64.b64decode(credential).decode().partition(":")[0]
        except (binascii.Error, UnicodeDecodeError):
            credential = ""
    elif scheme.lower() != "bearer":
        raise StripeError(
            401,
            "You did not provide an API key. You need to provide your API key in the Authorization header, "
            "using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY').",
        )
    if not credential.startswith(("sk_test_", "rk_test_")):
        raise StripeError(401, f"Invalid API Key provided: {credential[:8]}********{credential[-4:]}")
    return credential


def _raise_injected(failure: str | None, endpoint: str) -> None:
    if failure == "rate_limit":
        raise StripeError(
            429,
            "Request rate limit exceeded. Learn more about rate limits here https://stripe.com/docs/rate-limits.",
            code="rate_limit",
        )
    if failure == "server_error":
        raise StripeError(500, "An unknown error occurred", type="api_error")
    # Creating a PaymentIntent declines through its charge flow instead, which keeps the failed intent.
    if failure in CARD_FAILURES and endpoint != "POST /v1/payment_intents":
        raise card_error(CARD_FAILURES[failure])


def _respond(recorded: RecordedRequest, status: int, payload: bytes, headers: dict) -> web.Response:
    recorded.status = status
    return web.Response(status=status, body=payload, headers=headers, content_type="application/json")


async def _pay(request: web.Request) -> web.Response:
    """The customer submits the hosted page at session.url (form `paid=false` leaves it unpaid)."""
    paid = (await request.post()).get("paid", "true") != "false"
    return await _run(lambda: request.app[FAKE].complete_session(request.match_info["session"], paid=paid))


async def _control(request: web.Request) -> web.Response:
    """`POST /_test/<FakeStripe method>` with its arguments as form fields: {"result": return value}."""
    control, args = request.match_info["control"], dict(await request.post())
    if "times" in args:
        args["times"] = int(args["times"])
    for flag in ("paid", "won", "succeeded", "on"):
        if flag in args:
            args[flag] = args[flag] != "false"
    if "amount" in args:
        args["amount"] = int(args["amount"])
    if control not in _CONTROLS:
        return web.json_response({"error": {"message": f"Unknown test control: {control}"}}, status=404)
    return await _run(lambda: {"result": getattr(request.app[FAKE], control)(**args)})


async def _run(control) -> web.Response:
    try:
        return web.json_response(control())
    except StripeError as error:
        return web.json_response(error.body(), status=error.status)
