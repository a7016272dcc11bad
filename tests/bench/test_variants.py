"""The parts of bench.variants that decide a number: which process a connection landed on, the OTLP sink
a traced variant exports to, and the run-by-run comparison with the shipped process."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from bench import variants
from bench.procfs import established_connections
from devtools.redis_procs import free_port


def test_established_connections_count_what_a_listener_accepted_and_not_the_listener():
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
        clients = [socket.create_connection(("127.0.0.1", port)) for _ in range(2)]
        accepted = [listener.accept()[0] for _ in clients]
        try:
            assert established_connections(os.getpid(), port) == 2
            accepted[0].close()
            assert established_connections(os.getpid(), port) == 1
        finally:
            for s in (*clients, *accepted):
                s.close()


def test_the_otlp_sink_accepts_what_the_services_exporter_sends():
    port = free_port()
    sink = subprocess.Popen([sys.executable, "-m", "bench.otlp_sink", "--port", str(port)])
    try:
        recorded = InMemorySpanExporter()
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(recorded))
        with provider.get_tracer("test").start_as_current_span("Debit"):
            pass
        exporter = OTLPSpanExporter(endpoint=f"127.0.0.1:{port}", insecure=True, timeout=20)
        assert exporter.export(recorded.get_finished_spans()) == SpanExportResult.SUCCESS
        exporter.shutdown()
    finally:
        sink.terminate()
        sink.wait(10)


def _row(variant: str, server_us_by_run: list[float]) -> dict:
    samples = [{"cpu_s": {"server": us * 1e-6 * 1000}, "count": 1000} for us in server_us_by_run]
    return {
        "variant": variant,
        "concurrency": 16,
        "rps": {"median": 1000.0},
        "p99_ms": {"median": 10.0},
        "cpu_us_per_call": {"server": sorted(server_us_by_run)[len(server_us_by_run) // 2]},
        "samples": samples,
    }


def test_a_variant_is_compared_with_the_shipped_process_of_the_same_run():
    shipped, variant = _row("shipped", [400, 500, 600]), _row("tracing_1pct", [480, 550, 660])
    variants._add_ratios([shipped, variant])
    assert variant["vs_shipped"]["server_cpu_per_run"] == pytest.approx([1.2, 1.1, 1.1])
    assert variant["vs_shipped"]["server_cpu"] == pytest.approx(1.1)
