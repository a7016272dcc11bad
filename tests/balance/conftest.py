"""Fixtures: balance_svc with a manual clock, on a clean single Redis and on a clean Cluster."""

from __future__ import annotations

import functools

import pytest
from balance.v1 import balance_service_pb2_grpc

from balance_svc.config import Settings
from balance_svc.server import create_server
from devtools.redis_procs import RedisProcess
from svckit.clock import ManualClock
from tests.balance.support import Balances, RedisProxy
from tests.conftest import base_settings


@pytest.fixture
def own_redis(tmp_path) -> RedisProcess:
    """A Redis of the test's own, fsyncing every write, to restart or kill; it outlives the services."""
    with RedisProcess(tmp_path, appendonly=True, appendfsync="always") as server:
        yield server


@pytest.fixture
def start_balances(start_server, channel_to):
    """`balances = await start_balances(redis_overrides)`: a real balance_svc with its own manual clock."""

    async def _start(redis_overrides: dict[str, str], **settings) -> Balances:
        clock = ManualClock()
        config = Settings(**base_settings(**redis_overrides, **settings))
        addr = await start_server(functools.partial(create_server, clock=clock), config)
        return Balances(balance_service_pb2_grpc.BalanceServiceStub(channel_to(addr)), clock, redis_overrides)

    return _start


@pytest.fixture
async def balances(any_redis, start_balances) -> Balances:
    return await start_balances(any_redis)


@pytest.fixture
async def single_balances(single_redis, start_balances) -> Balances:
    return await start_balances(single_redis)


@pytest.fixture
async def proxied_balances(single_redis, redis_server, start_balances):
    """balance_svc whose Redis traffic passes through a RedisProxy: `balances, proxy = proxied_balances`."""
    proxy = RedisProxy(redis_server.port)
    port = await proxy.start()
    balances = await start_balances({"redis_url": f"redis://127.0.0.1:{port}/0", "redis_cluster_nodes": ""})
    yield balances, proxy
    proxy.close()
