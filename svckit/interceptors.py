"""The service layer around every handler: correlation id, deadline, undecodable requests, the data-loss
hold, error mapping and one log line per RPC worth logging; the access policy runs inside it."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

import grpc

from svckit import deadline
from svckit.auth import header
from svckit.data_guard import DataGuard
from svckit.errors import InvalidArgument, ServiceError, Unavailable
from svckit.logs import CORRELATION_ID_HEADER, adopt_correlation_id
from svckit.method_wrapping import MethodLayer
from svckit.redis_client import backend_unavailable
from svckit.status import to_grpc_status

log = logging.getLogger("rpc")

_PEER_UNAVAILABLE = {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED}
# Codes that mean the service, not the caller, failed; the caller's mistakes are logged at INFO.
_SERVER_FAULTS = frozenset({"INTERNAL", "UNKNOWN", "UNAVAILABLE", "DEADLINE_EXCEEDED", "DATA_LOSS"})


class _BackendUnavailable(Unavailable):
    reason = "BACKEND_UNAVAILABLE"


class _DependencyUnavailable(Unavailable):
    reason = "DEPENDENCY_UNAVAILABLE"


class _RequestUndecodable(InvalidArgument):
    reason = "REQUEST_UNDECODABLE"


# What the request deserializer hands the handler for bytes that do not parse; a request never is it.
_UNDECODABLE = object()


class _Unimplemented(ServiceError):
    code = "UNIMPLEMENTED"
    reason = "NOT_IMPLEMENTED"


class _Internal(ServiceError):
    code = "INTERNAL"
    reason = "INTERNAL"


class ServiceLayer(MethodLayer):
    """Wraps each unary handler once (see svckit.method_wrapping) so the per-call cost stays small.

    A successful call is logged at DEBUG (a log line costs about as much as a cheap RPC's own work), a
    slow one at WARNING, a refused one at INFO and one the service failed at WARNING.
    """

    def __init__(
        self,
        domain: str,
        *,
        slow_ms: float = 500.0,
        data_guard: DataGuard | None = None,
        mutating_methods: frozenset[str] = frozenset(),
    ) -> None:
        self._domain = domain
        self._data_guard = data_guard
        self._mutating_methods = mutating_methods
        self._slow_s = slow_ms / 1000

    def wrap(self, method: str, handler: grpc.RpcMethodHandler | None) -> grpc.RpcMethodHandler | None:
        if handler is None or handler.unary_unary is None:
            return handler  # health Watch, reflection and unknown methods pass through
        return grpc.unary_unary_rpc_method_handler(
            self._wrap(method, handler.unary_unary),
            request_deserializer=_tolerant(handler.request_deserializer),
            response_serializer=handler.response_serializer,
        )

    def _wrap(self, method: str, behavior):
        guard = self._data_guard if method in self._mutating_methods else None
        domain = self._domain
        slow_s = self._slow_s

        async def handle(request, context: grpc.aio.ServicerContext):
            started = time.perf_counter()
            metadata = context.invocation_metadata()
            adopt_correlation_id(header(metadata, CORRELATION_ID_HEADER))
            deadline.start_rpc(context.time_remaining())
            try:
                if request is _UNDECODABLE:
                    raise _RequestUndecodable(f"the request is not a valid {method} request message")
                if guard is not None:
                    guard.refuse_mutation()
                response = await behavior(request, context)
            except Exception as exc:  # every failure leaves as a status with ErrorInfo
                if isinstance(exc, grpc.aio.AbortError):
                    _log_call(logging.INFO, "rpc", method, "ABORTED_BY_HANDLER", started)
                    raise
                error = _as_service_error(exc, method)
                level = logging.WARNING if error.code in _SERVER_FAULTS else logging.INFO
                _log_call(level, "rpc", method, error.code, started, error.reason)
                await context.abort_with_status(to_grpc_status(error, domain))
            except asyncio.CancelledError:
                _log_call(logging.INFO, "rpc", method, "CANCELLED", started)
                raise
            if time.perf_counter() - started >= slow_s:
                _log_call(logging.WARNING, "slow rpc", method, "OK", started)
            elif log.isEnabledFor(logging.DEBUG):
                _log_call(logging.DEBUG, "rpc", method, "OK", started)
            return response

        return handle


def _log_call(level: int, msg: str, method: str, code: str, started: float, reason: str = "") -> None:
    """The one line format for calls: method, code, ErrorInfo reason (if any), duration and correlation id."""
    if log.isEnabledFor(level):
        fields = {
            "method": method,
            "code": code,
            "duration_ms": round((time.perf_counter() - started) * 1000, 3),
        }
        if reason:
            fields["reason"] = reason
        log.log(level, msg, extra=fields)


def _tolerant(deserialize: Callable[[bytes], object] | None) -> Callable[[bytes], object] | None:
    """grpc answers UNKNOWN with a traceback per call when parsing fails; the handler answers instead."""
    if deserialize is None:
        return None

    def parse(data: bytes) -> object:
        try:
            return deserialize(data)
        except Exception:  # DecodeError, or a RecursionError for absurdly nested bytes
            return _UNDECODABLE

    return parse


def _as_service_error(exc: Exception, method: str) -> ServiceError:
    if isinstance(exc, ServiceError):
        return exc
    if backend_unavailable(exc):
        log.warning("redis unavailable in %s: %s: %s", method, type(exc).__name__, exc)
        return _BackendUnavailable("the service's Redis is down, hung or failing over; retry later")
    if isinstance(exc, grpc.aio.AioRpcError) and exc.code() in _PEER_UNAVAILABLE:
        return _DependencyUnavailable(f"a dependency is unavailable: {exc.details()}")
    if isinstance(exc, NotImplementedError):
        return _Unimplemented(f"{method} is not implemented yet")
    log.exception("unhandled error in %s", method)
    return _Internal("internal error; see the service log for the correlation id")
