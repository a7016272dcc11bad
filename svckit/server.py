"""gRPC server bootstrap: interceptors, health with a Redis probe, reflection, /metrics, graceful shutdown."""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import signal
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from ops.v1 import ops_service_pb2_grpc

from svckit import logs, ops, policy, tls, tracing
from svckit.config import CommonSettings
from svckit.data_guard import DataGuard
from svckit.interceptors import ServiceLayer
from svckit.method_wrapping import WrappingInterceptor
from svckit.metrics import MetricsExporter, collecting
from svckit.redis_metrics import REDIS_UP
from svckit.rpc_metrics import ServerMetricsLayer
from svckit.tasks import cancel_and_wait

log = logging.getLogger("server")

S = TypeVar("S", bound=CommonSettings)

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


@dataclass(frozen=True)
class ServiceBinding:
    """One gRPC service to mount: its generated `add_..._to_server`, the servicer and its full name."""

    add_to_server: Callable[[object, grpc.aio.Server], None]
    servicer: object
    name: str


@dataclass
class AppServer:
    """A grpc.aio server plus what it owns: health, a readiness probe and resources to close."""

    server: grpc.aio.Server
    health: health.aio.HealthServicer
    service_names: tuple[str, ...]
    probe: Callable[[], Awaitable[object]] | None
    probe_interval_s: float
    data_guard: DataGuard | None = None
    on_start: Sequence[Callable[[], Awaitable[None]]] = ()
    on_stop: Sequence[Callable[[], Awaitable[None]]] = ()
    _tasks: list[asyncio.Task] = field(default_factory=list)

    async def start(self) -> None:
        await self._check_once()
        await self.server.start()
        for hook in self.on_start:
            await hook()
        if self.probe is not None:
            self._tasks.append(asyncio.create_task(self._probe_loop(), name="health-probe"))

    async def stop(self, grace_s: float | None) -> None:
        """Health turns NOT_SERVING first so balancers drain; in-flight RPCs get `grace_s`."""
        await self.health.enter_graceful_shutdown()
        await cancel_and_wait(self._tasks)
        await self.server.stop(grace_s)
        for hook in self.on_stop:
            await hook()

    async def _check_once(self) -> None:
        ok = True
        if self.probe is not None:
            try:
                # In this task, not wait_for's: a probe failing as it is cancelled leaves no orphan error.
                async with asyncio.timeout(max(self.probe_interval_s, 0.5)):
                    await self.probe()
            except Exception as exc:  # any failure means not ready
                ok = False
                log.warning("health probe failed: %s", exc)
        if self.data_guard is not None and self.data_guard.loss is not None:
            ok = False
        status = SERVING if ok else NOT_SERVING
        REDIS_UP.set(ok)
        for name in ("", *self.service_names):
            await self.health.set(name, status)

    async def _probe_loop(self) -> None:
        while True:
            await asyncio.sleep(self.probe_interval_s)
            await self._check_once()


def build_server(
    settings: CommonSettings,
    *,
    port: int,
    services: Sequence[ServiceBinding],
    domain: str,
    probe: Callable[[], Awaitable[object]] | None = None,
    data_guard: DataGuard | None = None,
    on_start: Sequence[Callable[[], Awaitable[None]]] = (),
    on_stop: Sequence[Callable[[], Awaitable[None]]] = (),
) -> tuple[AppServer, int]:
    """Mounts the services with health and reflection and binds `grpc_host:port` (0 = ephemeral).

    With a `data_guard`, OpsService is mounted too (admin only, by its declared policy), the guard's
    epoch check is the health probe (it reads Redis, so it replaces `probe`), and the services'
    mutating methods are refused while the guard holds an unacknowledged loss.
    """
    if data_guard is not None:
        services = [
            *services,
            ServiceBinding(
                ops_service_pb2_grpc.add_OpsServiceServicer_to_server,
                ops.OpsServicer(data_guard),
                ops.SERVICE_NAME,
            ),
        ]
        probe = data_guard.check
    names = tuple(b.name for b in services)
    layers = WrappingInterceptor(
        # Metrics first, so they see the code the error mapping chose; the policy runs inside the
        # service layer, which maps its refusals to statuses with ErrorInfo.
        *([ServerMetricsLayer()] if collecting(settings) else []),
        ServiceLayer(
            domain,
            slow_ms=settings.log_slow_rpc_ms,
            data_guard=data_guard,
            mutating_methods=mutating_methods(names),
        ),
        policy.from_settings(settings, names),
    )
    server = grpc.aio.server(
        # Tracing outermost: the span covers the whole call.
        interceptors=[*tracing.server_interceptors(), layers],
        options=[("grpc.so_reuseport", 1 if settings.grpc_reuseport else 0)],
    )
    for binding in services:
        binding.add_to_server(binding.servicer, server)
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection((*names, health.SERVICE_NAME, reflection.SERVICE_NAME), server)
    bound = tls.bind(server, f"{settings.grpc_host}:{port}", settings, service=domain.split(".")[0])
    exporter = MetricsExporter.for_service(settings, domain)
    app = AppServer(
        server=server,
        health=health_servicer,
        service_names=names,
        probe=probe,
        probe_interval_s=settings.health_probe_interval_s,
        data_guard=data_guard,
        on_start=(exporter.start, *on_start),
        on_stop=(*on_stop, exporter.stop),
    )
    return app, bound


# Methods that only read: AIP's standard Get and List, VerifyAccount's recomputation, and any method
# marked `option idempotency_level = NO_SIDE_EFFECTS`. Every other method of a service mutates.
_READ_VERBS = ("Get", "List", "Verify")


def mutating_methods(service_names: Iterable[str]) -> frozenset[str]:
    """Full method paths (`/pkg.Service/Method`) of the methods that may write; OpsService's never count."""
    pool = descriptor_pool.Default()
    found = set()
    for name in service_names:
        if name == ops.SERVICE_NAME:
            continue
        for method in pool.FindServiceByName(name).methods:
            reads = method.name.startswith(_READ_VERBS) or (
                method.GetOptions().idempotency_level == descriptor_pb2.MethodOptions.NO_SIDE_EFFECTS
            )
            if not reads:
                found.add(f"/{name}/{method.name}")
    return frozenset(found)


def run(settings: S, create_server: Callable[[S], Awaitable[tuple[AppServer, int]]]) -> None:
    """`python -m X_svc`: serves on uvloop when it is installed and the `uvloop` setting allows it.

    The event loop is a large share of a cheap RPC's CPU, and uvloop's costs less: about 100 us less
    per Debit here (see `make bench`).
    """
    loop_factory = None
    if settings.uvloop and importlib.util.find_spec("uvloop") is not None:
        import uvloop

        loop_factory = uvloop.new_event_loop
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        runner.run(serve(settings, create_server))


async def serve(settings: S, create_server: Callable[[S], Awaitable[tuple[AppServer, int]]]) -> None:
    """Runs until SIGTERM or SIGINT, then shuts down gracefully."""
    logs.configure(settings.log_level)
    tracing.configure_from_env(type(settings).__module__.split(".")[0])
    app, port = await create_server(settings)
    await app.start()
    loop = asyncio.get_running_loop()
    log.info(
        "listening",
        extra={"port": port, "services": list(app.service_names), "loop": type(loop).__module__},
    )
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    log.info("shutting down", extra={"grace_s": settings.shutdown_grace_s})
    await app.stop(settings.shutdown_grace_s)
    tracing.shutdown()
