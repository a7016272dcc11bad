"""payment_svc's metric helpers against the real stripe library, the fake Stripe and a real aiohttp app."""

from __future__ import annotations

import aiohttp
import pytest
import stripe
from aiohttp import web
from prometheus_client import REGISTRY

from payment_svc.metrics import count_webhook_responses, stripe_call, stripe_endpoint
from tests.payment.support import STRIPE_KEY


def _count(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def _stripe_outcomes(endpoint: str) -> dict[str, float]:
    name = "payment_stripe_requests_total"
    return {o: _count(name, endpoint=endpoint, outcome=o) for o in ("ok", "rejected")}


def test_stripe_endpoints_are_named_by_resource_and_verb_never_by_id():
    client = stripe.StripeClient(STRIPE_KEY)
    assert [
        stripe_endpoint(m)
        for m in (
            client.v1.checkout.sessions.create_async,
            client.v1.checkout.sessions.retrieve_async,
            client.v1.customers.payment_methods.list_async,
            client.v1.refunds.create_async,
        )
    ] == [
        "checkout.session.create",
        "checkout.session.retrieve",
        "customer_payment_method.list",
        "refund.create",
    ]


async def test_stripe_calls_are_counted_by_outcome_a_refused_request_as_rejected(fake_stripe):
    http = stripe.HTTPXClient()
    client = stripe.StripeClient(STRIPE_KEY, base_addresses={"api": fake_stripe.url}, http_client=http)
    endpoint = stripe_endpoint(client.v1.customers.create_async)
    before = {
        o: _count("payment_stripe_requests_total", endpoint=endpoint, outcome=o) for o in ("ok", "rejected")
    }
    with stripe_call(endpoint):
        await client.v1.customers.create_async({"metadata": {"account_id": "acct_m"}})
    with pytest.raises(stripe.InvalidRequestError), stripe_call(endpoint):
        await client.v1.customers.create_async({"no_such_parameter": "x"})  # the fake refuses it, as Stripe
    await http.close_async()
    after = {
        o: _count("payment_stripe_requests_total", endpoint=endpoint, outcome=o) for o in ("ok", "rejected")
    }
    assert {o: after[o] - before[o] for o in after} == {"ok": 1, "rejected": 1}


async def test_webhook_responses_are_counted_by_status_aiohttp_own_answers_included():
    async def ok(request: web.Request) -> web.Response:
        await request.read()
        return web.json_response({"received": True})

    app = web.Application(client_max_size=100, middlewares=[count_webhook_responses])
    app.router.add_post("/webhooks/stripe", ok)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    codes = ("200", "413", "404")
    before = {c: _count("payment_webhook_responses_total", code=c) for c in codes}
    async with aiohttp.ClientSession() as session:
        for path, body in (("/webhooks/stripe", b"{}"), ("/webhooks/stripe", b"x" * 1000), ("/other", b"")):
            async with session.post(url + path, data=body) as response:
                await response.read()
    await runner.cleanup()
    assert {c: _count("payment_webhook_responses_total", code=c) - before[c] for c in codes} == dict.fromkeys(
        codes, 1
    )
