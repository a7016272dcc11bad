"""OpenTelemetry traces: off unless OTEL_TRACES_EXPORTER=otlp; when off, nothing is imported or wrapped.

The standard variables configure the rest: OTEL_EXPORTER_OTLP_* (where to), OTEL_TRACES_SAMPLER and
OTEL_TRACES_SAMPLER_ARG (how many; e.g. parentbased_traceidratio and 0.01), OTEL_SERVICE_NAME and
OTEL_RESOURCE_ATTRIBUTES. The SDK's own default exporter is otlp; ours is none, so a service that was
never configured for tracing sends nothing anywhere.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from contextlib import AbstractContextManager, nullcontext
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.trace import Tracer

_provider: TracerProvider | None = None
tracer: Tracer | None = None  # None while tracing is off: callers test this one name, nothing else


def configure_from_env(service: str) -> None:
    """Turns tracing on for this process if OTEL_TRACES_EXPORTER asks for it; call before building servers."""
    exporter = os.environ.get("OTEL_TRACES_EXPORTER", "none").strip().lower()
    if exporter in ("", "none") or os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return
    if exporter != "otlp":
        raise ValueError(f"OTEL_TRACES_EXPORTER must be otlp or none, not {exporter!r}")
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    # The sampler comes from OTEL_TRACES_SAMPLER(_ARG); OTEL_SERVICE_NAME wins over `service`.
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    install(provider)


def install(provider: TracerProvider | None) -> None:
    """Sends this process's spans to `provider` (None: tracing off). Tests install an in-memory exporter."""
    global _provider, tracer
    _provider = provider
    tracer = provider.get_tracer("priceledger") if provider is not None else None


def shutdown() -> None:
    """Flushes the spans still batched; a no-op with tracing off."""
    if _provider is not None:
        _provider.shutdown()


def server_interceptors() -> list[Any]:
    """The grpc.aio server interceptor that continues the caller's trace, if tracing is on."""
    if _provider is None:
        return []
    from opentelemetry.instrumentation.grpc import aio_server_interceptor

    return [aio_server_interceptor(tracer_provider=_provider)]


def client_interceptors() -> list[Any]:
    """The grpc.aio client interceptors that send the current trace along (traceparent), if tracing is on."""
    if _provider is None:
        return []
    from opentelemetry.instrumentation.grpc import aio_client_interceptors

    return list(aio_client_interceptors(tracer_provider=_provider))


def span(name: str, attributes: Mapping[str, str] | None = None, *, client: bool = False):
    """A span around a block, child of the current one; a shared no-op context when tracing is off."""
    if tracer is None:
        return _OFF
    from opentelemetry.trace import SpanKind

    kind = SpanKind.CLIENT if client else SpanKind.INTERNAL
    return tracer.start_as_current_span(name, kind=kind, attributes=attributes)


def server_span(name: str, attributes: Mapping[str, str] | None = None):
    """The root (or continued) span of work that arrives from outside gRPC, such as a webhook POST."""
    if tracer is None:
        return _OFF
    from opentelemetry.trace import SpanKind

    return tracer.start_as_current_span(name, kind=SpanKind.SERVER, attributes=attributes)


def traceparent() -> str:
    """The current span as a W3C traceparent (stored on an order to link its later work); "" when off."""
    if tracer is None:
        return ""
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    carrier: dict[str, str] = {}
    TraceContextTextMapPropagator().inject(carrier)
    return carrier.get("traceparent", "")


def link_to(traceparent_value: object) -> None:
    """Links the current span to the span a stored traceparent names (a webhook to its checkout)."""
    if tracer is None or not isinstance(traceparent_value, str) or not traceparent_value:
        return
    from opentelemetry import trace
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    context = TraceContextTextMapPropagator().extract({"traceparent": traceparent_value})
    linked = trace.get_current_span(context).get_span_context()
    if linked.is_valid:
        trace.get_current_span().add_link(linked, {"link.kind": "checkout"})


_OFF: AbstractContextManager[None] = nullcontext()
