"""One server interceptor that wraps each method's handler once, in every layer, then reuses it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import grpc


class MethodLayer:
    """One layer around the handlers: `wrap(method, handler)` returns the handler wrapped, untouched, or
    None to leave the method unserved. It runs once per method, never per call."""

    def wrap(self, method: str, handler: grpc.RpcMethodHandler | None) -> grpc.RpcMethodHandler | None:
        raise NotImplementedError


class WrappingInterceptor(grpc.aio.ServerInterceptor):
    """Wraps a method's handler in `layers` (outermost first) on its first call and caches the result.

    One interceptor for all the layers: grpc.aio runs every interceptor of a server on every call (a
    coroutine and a continuation each), so a call pays for that once, not once per layer.
    """

    def __init__(self, *layers: MethodLayer) -> None:
        self._layers = layers[::-1]  # innermost first: the order they are applied in
        self._wrapped: dict[str, grpc.RpcMethodHandler | None] = {}

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler | None:
        method = details.method
        try:
            return self._wrapped[method]
        except KeyError:
            found = await continuation(details)
        handler = found
        for layer in self._layers:
            handler = layer.wrap(method, handler)
        if found is not None:  # only served methods: a caller's made-up names must not grow the cache
            self._wrapped[method] = handler
        return handler
