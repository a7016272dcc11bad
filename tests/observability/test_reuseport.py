"""GRPC_REUSEPORT: several balance_svc processes on one gRPC port, each with its own METRICS_PORT, add up."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator

import grpc
import pytest
from balance.v1 import balance_service_pb2 as pb
from balance.v1 import balance_service_pb2_grpc

from devtools.healthprobe import health_status
from devtools.redis_procs import free_port
from tests.observability.conftest import wait_until
from tests.observability.scrape import fetch, samples, value

PROCESSES = 2
CHANNELS = 8  # the kernel spreads connections, not calls: one channel is one connection to one process


def _scrapes(port: int) -> bool:
    try:
        fetch(port)
    except OSError:
        return False
    return True


@pytest.fixture
def shared_port_balances(redis_server) -> Iterator[tuple[str, list[int]]]:
    """(the shared gRPC address, each process's METRICS_PORT)."""
    grpc_port, metrics_ports = free_port(), [free_port() for _ in range(PROCESSES)]
    env = {
        **os.environ,
        "REDIS_URL": redis_server.url,
        "GRPC_HOST": "127.0.0.1",
        "BALANCE_PORT": str(grpc_port),
        "GRPC_REUSEPORT": "true",
        "LOG_LEVEL": "WARNING",
        "PLAINTEXT_DEV_MODE": "true",  # mTLS is tests/security's subject
    }
    procs = [
        subprocess.Popen([sys.executable, "-m", "balance_svc"], env={**env, "METRICS_PORT": str(port)})
        for port in metrics_ports
    ]
    addr = f"127.0.0.1:{grpc_port}"
    try:
        wait_until(lambda: all(_scrapes(p) for p in metrics_ports), "every /metrics", procs)
        wait_until(lambda: health_status(addr, timeout_s=1) == "SERVING", "balance_svc", procs)
        yield addr, metrics_ports
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(15)


async def test_processes_sharing_a_port_each_report_their_own_calls_and_the_sum_is_exact(
    shared_port_balances,
):
    addr, metrics_ports = shared_port_balances
    for i in range(CHANNELS):
        async with grpc.aio.insecure_channel(addr) as channel:
            await balance_service_pb2_grpc.BalanceServiceStub(channel).Credit(
                pb.CreditRequest(
                    account_id=f"acct_reuse_{i}",
                    amount_minor=100 + i,
                    currency="JPY",
                    reason=pb.TRANSACTION_REASON_TOP_UP,
                    request_id=f"reuse-{i}",
                )
            )
    per_process = [
        value(
            samples(await asyncio.to_thread(fetch, p)),
            "balance_credited_minor_total",
            reason="TOP_UP",
            currency="JPY",
        )
        for p in metrics_ports
    ]
    assert sum(per_process) == sum(100 + i for i in range(CHANNELS))
