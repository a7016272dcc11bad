"""The server-interceptor shape both of ours share: wrap each method's handler once, then reuse it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import grpc


class WrappingInterceptor(grpc.aio.ServerInterceptor):
    """Calls `wrap(method, handler)` on a method's first call and caches the answer, so a call costs
    only the wrapper itself. `wrap` may return the handler untouched, or None to leave it unserved."""

    def __init__(self) -> None:
        self._wrapped: dict[str, grpc.RpcMethodHandler | None] = {}

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler | None:
        method = details.method
        if method not in self._wrapped:
            self._wrapped[method] = self.wrap(method, await continuation(details))
        return self._wrapped[method]

    def wrap(self, method: str, handler: grpc.RpcMethodHandler | None) -> grpc.RpcMethodHandler | None:
        raise NotImplementedError
