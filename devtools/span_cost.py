"""What one span costs this process's CPU: off (svckit.tracing's no-op), and on at 100 % and 1 % sampling.

`python -m devtools.span_cost`. Spans go through a BatchSpanProcessor to an exporter that drops them, so
the number is the SDK's cost in the calling thread, not the network's. A traced Debit makes two spans
(the gRPC server span and its Redis script), plus the instrumentation's metadata handling.
"""

from __future__ import annotations

import timeit
from collections.abc import Callable
from contextlib import AbstractContextManager

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.sampling import ALWAYS_ON, ParentBased, Sampler, TraceIdRatioBased

from svckit import tracing

CALLS = 50_000


class _Dropped(SpanExporter):
    def export(self, spans) -> SpanExportResult:
        return SpanExportResult.SUCCESS


def _us_per_span(open_span: Callable[[], AbstractContextManager]) -> float:
    def one() -> None:
        with open_span():
            pass

    return min(timeit.repeat(one, number=CALLS, repeat=5)) / CALLS * 1e6


def _with_sampler(sampler: Sampler) -> float:
    provider = TracerProvider(sampler=sampler)
    provider.add_span_processor(BatchSpanProcessor(_Dropped(), max_queue_size=CALLS * 10))
    tracing.install(provider)
    try:
        return _us_per_span(lambda: tracing.span("redis debit", {"db.system": "redis"}, client=True))
    finally:
        tracing.install(None)
        provider.shutdown()


def main() -> None:
    print(f"tracing off: {_us_per_span(lambda: tracing.span('redis debit')):.2f} us per span")
    print(f"100 % sampled: {_with_sampler(ParentBased(ALWAYS_ON)):.2f} us per span")
    print(f"1 % sampled (root spans): {_with_sampler(ParentBased(TraceIdRatioBased(0.01))):.2f} us per span")


if __name__ == "__main__":
    main()
