"""A real gRPC server that answers BalanceService calls as a test scripts and records each attempt."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import grpc
from balance.v1 import balance_service_pb2 as bal

HANG = "hang"


@dataclass
class Attempt:
    method: str
    request: object
    metadata: dict[str, str]
    time_remaining_s: float | None


@dataclass
class ScriptedPeer:
    """`outcomes` are consumed one per attempt: a grpc.StatusCode to fail with, or HANG; then success."""

    outcomes: list = field(default_factory=list)
    attempts: list[Attempt] = field(default_factory=list)
    addr: str = ""
    _server: grpc.aio.Server | None = None

    async def start(self) -> str:
        self._server = grpc.aio.server()
        handlers = {
            "Credit": self._handler("Credit", bal.CreditRequest, bal.CreditResponse),
            "GetBalance": self._handler("GetBalance", bal.GetBalanceRequest, bal.GetBalanceResponse),
        }
        self._server.add_generic_rpc_handlers(
            (grpc.method_handlers_generic_handler("balance.v1.BalanceService", handlers),)
        )
        port = self._server.add_insecure_port("127.0.0.1:0")
        await self._server.start()
        self.addr = f"127.0.0.1:{port}"
        return self.addr

    async def stop(self) -> None:
        await self._server.stop(0)

    async def __aenter__(self) -> ScriptedPeer:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    def _handler(self, method: str, request_type, response_type):
        async def handle(request, context: grpc.aio.ServicerContext):
            metadata = {k: v for k, v in context.invocation_metadata() if isinstance(v, str)}
            self.attempts.append(Attempt(method, request, metadata, context.time_remaining()))
            outcome = self.outcomes.pop(0) if self.outcomes else None
            if outcome == HANG:
                await asyncio.Event().wait()
            if outcome is not None:
                await context.abort(outcome, f"scripted {outcome.name}")
            return response_type()

        return grpc.unary_unary_rpc_method_handler(
            handle,
            request_deserializer=request_type.FromString,
            response_serializer=response_type.SerializeToString,
        )
