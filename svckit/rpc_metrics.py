"""RPC metrics under go-grpc-prometheus' names and labels, so its dashboards and alerts work unchanged.

Codes are Go's spelling (`OK`, `InvalidArgument`, `Unavailable`), as those dashboards match them. Only
unary calls are counted: every RPC of ours is unary (health Watch and reflection streams pass by).
"""

from __future__ import annotations

import asyncio
import time

import grpc
from prometheus_client import Counter, Histogram

from svckit.method_wrapping import MethodLayer
from svckit.metrics import RPC_BUCKETS_S

_LABELS = ("grpc_type", "grpc_service", "grpc_method")


def _rpc_metrics(side: str, seconds_help: str) -> tuple[Counter, Counter, Histogram]:
    """started_total, handled_total and handling_seconds for one side ("server" or "client")."""
    return (
        Counter(f"grpc_{side}_started_total", f"RPCs started on the {side}.", _LABELS),
        Counter(
            f"grpc_{side}_handled_total",
            f"RPCs completed on the {side}, whatever their code.",
            (*_LABELS, "grpc_code"),
        ),
        Histogram(f"grpc_{side}_handling_seconds", seconds_help, _LABELS, buckets=RPC_BUCKETS_S),
    )


SERVER = _rpc_metrics("server", "Time from the start of an RPC to its completion by the server.")
CLIENT = _rpc_metrics(
    "client", "Time from the start of an RPC until the client had its response or status, retries included."
)

# grpc.StatusCode -> Go's codes.Code.String().
GO_CODE = {
    grpc.StatusCode.OK: "OK",
    grpc.StatusCode.CANCELLED: "Canceled",
    grpc.StatusCode.UNKNOWN: "Unknown",
    grpc.StatusCode.INVALID_ARGUMENT: "InvalidArgument",
    grpc.StatusCode.DEADLINE_EXCEEDED: "DeadlineExceeded",
    grpc.StatusCode.NOT_FOUND: "NotFound",
    grpc.StatusCode.ALREADY_EXISTS: "AlreadyExists",
    grpc.StatusCode.PERMISSION_DENIED: "PermissionDenied",
    grpc.StatusCode.RESOURCE_EXHAUSTED: "ResourceExhausted",
    grpc.StatusCode.FAILED_PRECONDITION: "FailedPrecondition",
    grpc.StatusCode.ABORTED: "Aborted",
    grpc.StatusCode.OUT_OF_RANGE: "OutOfRange",
    grpc.StatusCode.UNIMPLEMENTED: "Unimplemented",
    grpc.StatusCode.INTERNAL: "Internal",
    grpc.StatusCode.UNAVAILABLE: "Unavailable",
    grpc.StatusCode.DATA_LOSS: "DataLoss",
    grpc.StatusCode.UNAUTHENTICATED: "Unauthenticated",
}


class _MethodMetrics:
    """One method's label children, resolved once: `labels()` per call would cost more than the count."""

    __slots__ = ("_handled", "_labels", "_metric", "seconds", "started")

    def __init__(self, full_method: str, metrics: tuple[Counter, Counter, Histogram]) -> None:
        started, handled, seconds = metrics
        service, _, method = full_method.lstrip("/").partition("/")
        self._labels = ("unary", service, method)
        self._metric = handled
        self.started = started.labels(*self._labels)
        self.seconds = seconds.labels(*self._labels)
        self._handled = {"OK": handled.labels(*self._labels, "OK")}

    def handled(self, code: str) -> Counter:
        child = self._handled.get(code)
        if child is None:  # codes other than OK appear on first use, so each method has one series to start
            child = self._handled[code] = self._metric.labels(*self._labels, code)
        return child


class ServerMetricsLayer(MethodLayer):
    """The outermost layer (svckit.method_wrapping), so it sees the code the service layer's error mapping
    set."""

    def wrap(self, method: str, handler: grpc.RpcMethodHandler | None) -> grpc.RpcMethodHandler | None:
        if handler is None or handler.unary_unary is None:
            return handler
        return grpc.unary_unary_rpc_method_handler(
            _observed(handler.unary_unary, _MethodMetrics(method, SERVER)),
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )


def _observed(behavior, m: _MethodMetrics):
    async def handle(request, context: grpc.aio.ServicerContext):
        m.started.inc()
        started = time.perf_counter()
        try:
            response = await behavior(request, context)
        except grpc.aio.AbortError:  # the code the handler (or error mapping) aborted with
            _completed(m, started, GO_CODE.get(context.code(), "Unknown"))
            raise
        except asyncio.CancelledError:  # the client went away or its deadline passed
            _completed(m, started, "Canceled")
            raise
        except BaseException:  # gRPC answers UNKNOWN for an exception that escapes the handler
            _completed(m, started, "Unknown")
            raise
        code = context.code()
        _completed(m, started, "OK" if code is None else GO_CODE.get(code, "Unknown"))
        return response

    return handle


def _completed(m: _MethodMetrics, started: float, code: str) -> None:
    m.seconds.observe(time.perf_counter() - started)
    m.handled(code).inc()


class ClientMetricsInterceptor(grpc.aio.UnaryUnaryClientInterceptor):
    """One count per call as the caller sees it: the channel's transparent retries are inside it."""

    def __init__(self) -> None:
        self._methods: dict[bytes | str, _MethodMetrics] = {}

    async def intercept_unary_unary(self, continuation, client_call_details, request):
        method = client_call_details.method
        m = self._methods.get(method)
        if m is None:
            name = method.decode() if isinstance(method, bytes) else method
            m = self._methods[method] = _MethodMetrics(name, CLIENT)
        m.started.inc()
        started = time.perf_counter()
        call = None
        try:
            call = await continuation(client_call_details, request)
            await call  # the caller awaits it again and gets the same response or error
        except grpc.aio.AioRpcError as err:
            _completed(m, started, GO_CODE.get(err.code(), "Unknown"))
            if call is None:
                raise
            return call
        except asyncio.CancelledError:
            _completed(m, started, "Canceled")
            raise
        except Exception:
            _completed(m, started, "Unknown")
            raise
        _completed(m, started, "OK")
        return call
