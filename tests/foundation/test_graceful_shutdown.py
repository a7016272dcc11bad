"""SIGTERM drains: the real `python -m balance_svc` process lets an in-flight RPC finish, then exits 0."""

from __future__ import annotations

import asyncio
import os
import signal
import sys

import grpc
import redis.asyncio as aioredis
from balance.v1 import balance_service_pb2, balance_service_pb2_grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from devtools.redis_procs import free_port


async def _wait_serving(channel: grpc.aio.Channel, deadline_s: float = 15.0) -> None:
    stub = health_pb2_grpc.HealthStub(channel)
    loop = asyncio.get_running_loop()
    end = loop.time() + deadline_s
    while True:
        try:
            reply = await stub.Check(health_pb2.HealthCheckRequest(), timeout=1)
            if reply.status == health_pb2.HealthCheckResponse.SERVING:
                return
        except grpc.aio.AioRpcError:
            if loop.time() > end:
                raise
        await asyncio.sleep(0.1)


async def test_sigterm_lets_an_in_flight_rpc_finish(single_redis, redis_server):
    port = free_port()
    env = {
        **os.environ,
        "REDIS_URL": single_redis["redis_url"],
        "BALANCE_PORT": str(port),
        "METRICS_PORT": "0",
        "LOG_LEVEL": "WARNING",
        "PLAINTEXT_DEV_MODE": "true",
    }
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "balance_svc", env=env)
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            await _wait_serving(channel)
            stub = balance_service_pb2_grpc.BalanceServiceStub(channel)
            async with aioredis.Redis(port=redis_server.port) as admin:
                await admin.execute_command("CLIENT", "PAUSE", "1500", "ALL")  # holds the RPC in Redis
            in_flight = asyncio.ensure_future(
                stub.GetBalance(balance_service_pb2.GetBalanceRequest(account_id="acct_sigterm"), timeout=10)
            )
            await asyncio.sleep(0.3)
            assert not in_flight.done()
            proc.send_signal(signal.SIGTERM)
            reply = await in_flight
            assert reply.balance.balance_minor == 0
        assert await asyncio.wait_for(proc.wait(), timeout=15) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
