"""A peer that accepts connections but never answers is UNAVAILABLE before the caller's deadline."""

from __future__ import annotations

import asyncio

import grpc
from payment.v1 import payment_service_pb2 as pay

from tests.hardening.support import SERVICES, Call, invoke, reason, settings_for


async def test_a_hung_peer_is_unavailable_before_the_callers_deadline(single_redis, start_server, channel_to):
    held: list[asyncio.StreamWriter] = []

    async def silent(_reader, writer):  # accepts, reads nothing, says nothing
        held.append(writer)

    peer = await asyncio.start_server(silent, "127.0.0.1", 0)
    addr = f"127.0.0.1:{peer.sockets[0].getsockname()[1]}"
    try:
        # The peer timeout (5 s) is longer than the caller's deadline: the caller's deadline wins.
        settings = settings_for("payment", single_redis, balance_service_addr=addr, peer_timeout_s=5.0)
        channel = channel_to(await start_server(SERVICES["payment"][0], settings))
        request = pay.ConfigureAutoTopUpRequest(account_id="acct_1", enabled=False, request_id="auto-1")
        result = await invoke(
            channel, Call("/payment.v1.PaymentService/ConfigureAutoTopUp", request), deadline_s=2.0
        )
        assert isinstance(result, grpc.aio.AioRpcError)
        assert (result.code(), reason(result)) == (grpc.StatusCode.UNAVAILABLE, "DEPENDENCY_UNAVAILABLE")
    finally:
        for writer in held:
            writer.close()
        peer.close()
