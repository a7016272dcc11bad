"""The /metrics endpoint: prometheus-client's default registry over HTTP on METRICS_PORT, one per process."""

from __future__ import annotations

import asyncio
from wsgiref.simple_server import WSGIServer

from prometheus_client import start_http_server

from svckit.config import CommonSettings

# Where each service serves /metrics when METRICS_PORT is unset, by the ErrorInfo domain it serves.
DEFAULT_PORTS = {"pricing.v1": 9091, "balance.v1": 9092, "payment.v1": 9093}

# Seconds. A cheap RPC takes under a millisecond here, so the buckets start well below the 5 ms that
# go-grpc-prometheus' defaults start at; the top stays at its 10 s.
RPC_BUCKETS_S = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def metrics_port(settings: CommonSettings, domain: str) -> int:
    """METRICS_PORT if set, else the service's default; 0 means no endpoint."""
    return DEFAULT_PORTS.get(domain, 0) if settings.metrics_port is None else settings.metrics_port


def collecting(settings: CommonSettings) -> bool:
    """False with METRICS_PORT=0: nothing could read the RPC and Redis script metrics, so no call pays
    for them (no server interceptor, no script wrapper). Business counters still count: a plain `inc`."""
    return settings.metrics_port != 0


class MetricsExporter:
    """Serves the process's registry from a daemon thread, so a scrape never waits on the event loop.

    Each process binds its own port, also under GRPC_REUSEPORT: a shared port would hand each scrape to
    a random process, and its counters would jump between processes' values. A port already taken
    fails the start, so a second process with the same METRICS_PORT does not run unobserved.
    """

    def __init__(self, host: str, port: int) -> None:
        self._host = host.strip("[]")  # "[::]" is gRPC's spelling; HTTP servers want "::"
        self._port = port
        self._server: WSGIServer | None = None

    @classmethod
    def for_service(cls, settings: CommonSettings, domain: str) -> MetricsExporter:
        return cls(settings.grpc_host, metrics_port(settings, domain))

    @property
    def port(self) -> int:
        """The bound port once started (0 when off)."""
        return self._server.server_port if self._server is not None else 0

    async def start(self) -> None:
        if self._port:
            self._server, _ = start_http_server(self._port, self._host)

    async def stop(self) -> None:
        if self._server is not None:
            # shutdown() waits for serve_forever's next poll (up to 0.5 s): not on the event loop.
            await asyncio.to_thread(self._server.shutdown)
            self._server.server_close()
            self._server = None
