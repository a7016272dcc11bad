"""Traces: a checkout is one trace across payment, pricing, Stripe and Redis; its webhooks link to it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from redis.asyncio import Redis

from svckit import tracing
from svckit.redis_client import TracedScript, register_scripts
from svckit.redis_metrics import TimedScript
from tests.payment.support import Stack, unique

WEBHOOK_SPAN = "POST /webhooks/stripe"


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    """Tracing on, at 100 %, for the servers and channels built while it is installed."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.install(provider)
    yield exporter
    tracing.install(None)
    provider.shutdown()


@pytest.fixture
async def traced_stack(spans, single_redis, start_stack) -> Stack:
    return await start_stack(single_redis)


def trace_of(spans: InMemorySpanExporter, root: str) -> tuple[int, list[ReadableSpan]]:
    """The trace of the one span named `root`, and every span in it."""
    (first,) = [s for s in spans.get_finished_spans() if s.name == root and s.kind != SpanKind.CLIENT]
    trace_id = first.context.trace_id
    return trace_id, [s for s in spans.get_finished_spans() if s.context.trace_id == trace_id]


def served(trace: list[ReadableSpan]) -> set[str]:
    """The gRPC services that served a call in the trace."""
    return {s.name.split("/")[1] for s in trace if s.kind == SpanKind.SERVER and s.name.startswith("/")}


async def test_a_checkout_is_one_trace_across_payment_pricing_stripe_and_redis(traced_stack, spans):
    stack = traced_stack
    await stack.create_code("TRACE10", percent_off=10)
    spans.clear()
    response = await stack.checkout(unique("acct"), "launch-product", "TRACE10")
    trace_id, trace = trace_of(spans, "/payment.v1.PaymentService/CreateCheckoutSession")
    names = {s.name for s in trace}
    assert served(trace) == {"payment.v1.PaymentService", "pricing.v1.PricingService"}
    assert {"stripe customer.create", "stripe checkout.session.create"} <= names
    assert {"redis create_order", "redis update_order"} <= names  # payment_svc's scripts
    assert "redis code_reserve" in names  # pricing_svc's
    assert all(s.context.trace_id == trace_id for s in spans.get_finished_spans())  # nothing went astray
    stored = await stack.redis.hget(f"pay:order:{{{response.order.order_id}}}", "traceparent")
    assert stored.split("-")[1] == format(trace_id, "032x")  # the order remembers its checkout's trace


async def test_a_webhook_delivery_is_its_own_trace_linked_to_its_checkouts(traced_stack, spans):
    stack = traced_stack
    account = unique("acct")
    session = await stack.top_up_session(account, 1)
    checkout_trace_id, checkout = trace_of(spans, "/payment.v1.PaymentService/CreateTopUpSession")
    assert "balance.v1.BalanceService" in served(checkout)  # the balance's currency, read before charging
    await stack.deliver(stack.fake.complete_session(session.session_id))
    trace_id, trace = trace_of(spans, WEBHOOK_SPAN)
    (webhook,) = [s for s in trace if s.name == WEBHOOK_SPAN]
    assert trace_id != checkout_trace_id
    assert [link.context.trace_id for link in webhook.links] == [checkout_trace_id]
    assert webhook.parent is None  # Stripe starts no trace of ours
    assert "balance.v1.BalanceService" in served(trace)  # the credit, inside the delivery's trace
    assert "stripe checkout.session.retrieve" in {s.name for s in trace}
    assert await stack.balance_of(account) == 1000


def test_with_tracing_off_scripts_are_not_wrapped_and_no_interceptor_is_added():
    assert tracing.tracer is None
    assert tracing.server_interceptors() == [] and tracing.client_interceptors() == []
    with tracing.span("nothing") as current:
        assert current is None
    assert tracing.traceparent() == ""
    scripts = register_scripts(Redis(), "payment_svc")  # registering sends nothing to Redis
    assert {type(s) for s in scripts.values()} == {TimedScript}


def test_with_tracing_on_scripts_are_spans(spans):
    scripts = register_scripts(Redis(), "payment_svc")
    assert {type(s) for s in scripts.values()} == {TracedScript}


def test_tracing_is_off_by_default_and_sampling_comes_from_the_standard_variables(monkeypatch):
    monkeypatch.delenv("OTEL_TRACES_EXPORTER", raising=False)
    tracing.configure_from_env("payment_svc")
    assert tracing.tracer is None
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "otlp")
    monkeypatch.setenv("OTEL_TRACES_SAMPLER", "parentbased_traceidratio")
    monkeypatch.setenv("OTEL_TRACES_SAMPLER_ARG", "0.01")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:1")  # never reached: no span ends
    tracing.configure_from_env("payment_svc")
    try:
        provider = tracing._provider
        assert provider is not None and "TraceIdRatioBased{0.01}" in provider.sampler.get_description()
        assert provider.resource.attributes["service.name"] == "payment_svc"
    finally:
        tracing.shutdown()
        tracing.install(None)


async def test_a_sweep_traces_each_order_linked_to_its_checkout(traced_stack, spans):
    stack = traced_stack
    session = await stack.top_up_session(unique("acct"), 1)
    checkout_trace_id, _ = trace_of(spans, "/payment.v1.PaymentService/CreateTopUpSession")
    stack.fake.complete_session(session.session_id)  # its webhook is lost
    stack.clock.advance(601 * 1000)
    assert await stack.parts.reconciler.sweep_once() == {session.order.order_id: "fulfilled"}
    _, trace = trace_of(spans, "reconcile order")
    (sweep,) = [s for s in trace if s.name == "reconcile order"]
    assert [link.context.trace_id for link in sweep.links] == [checkout_trace_id]
    assert "balance.v1.BalanceService" in served(trace)
