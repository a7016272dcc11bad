"""payment_svc's metric helpers against the real stripe library, the fake Stripe and a real aiohttp app."""

from __future__ import annotations

import json
import re
from pathlib import Path

import aiohttp
import pytest
import stripe
from aiohttp import web
from payment.v1 import payment_service_pb2 as pb
from prometheus_client import REGISTRY

import devtools.fake_stripe
from payment_svc.auto_top_up import LowBalanceOutcome
from payment_svc.metrics import count_webhook_responses, stripe_call
from payment_svc.stripe_gateway import CUSTOMER_CREATE, ENDPOINTS
from tests.payment.support import STRIPE_KEY, eventually, payload_of, unique


def _count(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def _stripe_outcomes(endpoint: str) -> dict[str, float]:
    name = "payment_stripe_requests_total"
    return {o: _count(name, endpoint=endpoint, outcome=o) for o in ("ok", "rejected")}


def test_stripe_endpoints_are_operations_stripe_has_named_by_resource_and_verb_never_by_id():
    spec = json.loads((Path(devtools.fake_stripe.__file__).parent / "params.json").read_text())
    operations = {re.sub(r"\{\w+\}", "{}", e) for e in spec["endpoints"]}  # from Stripe's OpenAPI spec
    assert {f"{e.method.upper()} {e.path}" for e in ENDPOINTS} <= operations
    names = [e.name for e in ENDPOINTS]
    assert all(re.fullmatch(r"[a-z_]+(\.[a-z_]+)+", n) for n in names) and len(set(names)) == len(names)
    # The names the dashboards and alert tests (deploy/observability) select on.
    assert {"checkout.session.create", "payment_intent.create"} <= set(names)


async def test_stripe_calls_are_counted_by_outcome_a_refused_request_as_rejected(fake_stripe):
    http = stripe.HTTPXClient()
    client = stripe.StripeClient(STRIPE_KEY, base_addresses={"api": fake_stripe.url}, http_client=http)
    endpoint = CUSTOMER_CREATE.name
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


class Counts:
    """Deltas of payment_svc's counters since construction; the registry is the process's own."""

    def __init__(self, *series: tuple[str, dict[str, str]]) -> None:
        self._series = series
        self._before = [_count(name, **labels) for name, labels in series]

    def deltas(self) -> dict[str, float]:
        return {
            f"{name}{sorted(labels.values())}": _count(name, **labels) - before
            for (name, labels), before in zip(self._series, self._before, strict=True)
        }


def _transition(kind: str, status: str) -> tuple[str, dict[str, str]]:
    return "payment_order_transitions_total", {"kind": kind, "to_status": status}


def _webhook(event_type: str, outcome: str) -> tuple[str, dict[str, str]]:
    return "payment_webhook_events_total", {"event_type": event_type, "outcome": outcome}


async def test_real_orders_and_webhooks_count_each_transition_and_event_outcome_exactly_once(stack):
    series = (
        _transition("TOP_UP", "PENDING"),
        _transition("TOP_UP", "PAID"),
        _transition("TOP_UP", "FULFILLED"),
        _transition("PRODUCT", "PENDING"),
        _transition("PRODUCT", "EXPIRED"),
        _webhook("checkout.session.completed", "fulfilled"),
        _webhook("checkout.session.completed", "duplicate"),
        _webhook("checkout.session.expired", "expired"),
        _webhook("other", "ignored"),
        ("payment_webhook_responses_total", {"code": "200"}),
        ("payment_webhook_responses_total", {"code": "400"}),
        ("payment_stripe_requests_total", {"endpoint": "checkout.session.create", "outcome": "ok"}),
        ("payment_stripe_requests_total", {"endpoint": "checkout.session.create", "outcome": "unavailable"}),
        ("payment_stripe_retries_total", {"endpoint": "checkout.session.create", "cause": "unavailable"}),
    )
    counts = Counts(*series)
    lag_before = _count("payment_webhook_lag_seconds_count")
    account, _, completed = await stack.completed_top_up()
    await stack.deliver(completed)
    await stack.deliver(completed)  # Stripe's retry of an event already handled
    stack.fake.fail_next("/v1/checkout/sessions", "server_error", times=1)  # retried with the same key
    buyer, request_id = unique("acct"), unique("req")
    product_checkout = await stack.checkout(buyer, "launch-product", request_id=request_id)
    await stack.checkout(buyer, "launch-product", request_id=request_id)  # a replay creates nothing
    await stack.deliver(stack.fake.expire_session(product_checkout.session_id))
    await stack.deliver({**completed, "id": unique("evt"), "type": "customer.created"})
    status, _ = await stack.post(payload_of(completed), secret="whsec_someone_else")
    assert status == 400
    assert list(counts.deltas().values()) == [1, 1, 1, 1, 1, 1, 1, 1, 1, 4, 1, 2, 1, 1]
    assert _count("payment_webhook_lag_seconds_count") - lag_before == 4
    assert await stack.balance_of(account) == 1000


async def test_the_sweeper_gauges_orders_paid_but_not_fulfilled_until_it_finishes_them(
    start_stack, single_redis
):
    stack = await start_stack(single_redis, balance_proxy=True)
    _, order_id, completed = await stack.completed_top_up()
    stack.balance_proxy.refuse()
    status, _ = await stack.post(payload_of(completed))
    assert status == 503
    stack.clock.advance(601 * 1000)
    assert (await stack.parts.reconciler.sweep_once())[order_id] != "fulfilled"
    assert _count("payment_orders_paid_not_fulfilled") == 1
    stack.balance_proxy.allow()

    async def swept():
        return (await stack.parts.reconciler.sweep_once()).get(order_id) == "fulfilled"

    await eventually(swept)
    assert _count("payment_orders_paid_not_fulfilled") == 0


async def test_each_low_balance_event_counts_one_auto_top_up_outcome(stack):
    outcomes = [o.value for o in LowBalanceOutcome]
    before = {o: _count("payment_auto_top_ups_total", outcome=o) for o in outcomes}
    account = unique("acct")
    await stack.paid_top_up(account)  # 1000 and a saved card
    configure = pb.ConfigureAutoTopUpRequest(
        account_id=account, request_id=unique("cfg"), enabled=True, threshold_minor=500, blocks=2,
        max_spend_minor=10_000,
    )  # fmt: skip
    await stack.payment.ConfigureAutoTopUp(configure)
    await stack.spend(account, 600)  # balance_svc publishes the crossing
    for _ in range(3):
        await stack.low_balance_event(account, 400, 500)  # the same crossing seen again
    await eventually(stack.low_balance_events_handled)
    deltas = {o: _count("payment_auto_top_ups_total", outcome=o) - before[o] for o in outcomes}
    assert deltas["topped_up"] == 1 and sum(deltas.values()) == 4  # the rest: busy or not_low
    assert await stack.balance_of(account) == 400 + 2000
