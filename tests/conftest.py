"""Shared fixtures: real Redis servers (single and a 3-master Cluster) and real gRPC servers."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import grpc
import hypothesis.internal.observability  # noqa: F401  (see below)
import pytest
import redis

from devtools import dev_pki
from devtools.redis_procs import RedisCluster, RedisProcess
from svckit.server import AppServer

# Imported above so that it is not first imported (and assertion-rewritten) at session end, after
# gRPC objects were torn down: on CPython 3.11.7 that import intermittently dies with "SystemError: AST
# constructor recursion depth mismatch" (cpython#106905), failing a green run.

ADMIN_TOKEN = "test-admin-token"
ADMIN_METADATA = (("authorization", f"Bearer {ADMIN_TOKEN}"),)


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory) -> RedisProcess:
    with RedisProcess(tmp_path_factory.mktemp("redis"), appendonly=False) as server:
        yield server


@pytest.fixture(scope="session")
def redis_cluster(tmp_path_factory) -> RedisCluster:
    with RedisCluster(tmp_path_factory.mktemp("cluster"), appendonly=False) as cluster:
        yield cluster


def _flush(ports: list[int]) -> None:
    for port in ports:
        with redis.Redis(port=port) as client:
            client.flushall()


@pytest.fixture
def single_redis(redis_server) -> dict[str, str]:
    """Settings overrides for a clean single Redis."""
    _flush([redis_server.port])
    return {"redis_url": redis_server.url, "redis_cluster_nodes": ""}


@pytest.fixture(params=["single", "cluster"])
def any_redis(request) -> dict[str, str]:
    """Settings overrides for a clean single Redis, then for a clean Redis Cluster."""
    if request.param == "single":
        return request.getfixturevalue("single_redis")
    cluster: RedisCluster = request.getfixturevalue("redis_cluster")
    _flush([node.port for node in cluster.nodes])
    return {"redis_url": cluster.url, "redis_cluster_nodes": cluster.startup_nodes}


@pytest.fixture(scope="session")
def pki(tmp_path_factory) -> Path:
    """A dev CA and certificates for pricing, balance, payment, storefront and admin-cli."""
    return dev_pki.ensure(tmp_path_factory.mktemp("pki"))


def tls_settings(pki: Path, **overrides) -> dict:
    """base_settings with mTLS on: each service presents its own certificate and trusts the dev CA."""
    return base_settings(
        plaintext_dev_mode=False,
        tls_cert_file=str(pki / "{service}.pem"),
        tls_key_file=str(pki / "{service}-key.pem"),
        tls_ca_file=str(pki / "ca.pem"),
        **overrides,
    )


def base_settings(**overrides) -> dict:
    """Ephemeral ports, fast health probes, the test admin token; plaintext dev mode (TLS: tests/security)."""
    return {
        "plaintext_dev_mode": True,
        "grpc_host": "127.0.0.1",
        "pricing_port": 0,
        "balance_port": 0,
        "payment_port": 0,
        "webhook_port": 0,
        "metrics_port": 0,  # off: tests that scrape pick their own port
        "admin_token": ADMIN_TOKEN,
        "health_probe_interval_s": 0.1,
        "log_level": "WARNING",
        **overrides,
    }


StartServer = Callable[[Callable[..., Awaitable[tuple[AppServer, int]]], object], Awaitable[str]]


@pytest.fixture
async def start_server() -> AsyncIterator[StartServer]:
    """`addr = await start_server(create_server, settings)`; every server is stopped after the test."""
    started: list[AppServer] = []

    async def _start(create_server, settings) -> str:
        app, port = await create_server(settings)
        await app.start()
        started.append(app)
        return f"127.0.0.1:{port}"

    yield _start
    for app in reversed(started):
        await app.stop(0)


@pytest.fixture
async def channel_to() -> AsyncIterator[Callable[[str], grpc.aio.Channel]]:
    """`channel = channel_to(addr)`; channels are closed after the test."""
    channels: list[grpc.aio.Channel] = []

    def _open(addr: str) -> grpc.aio.Channel:
        channels.append(grpc.aio.insecure_channel(addr))
        return channels[-1]

    yield _open
    for channel in channels:
        await channel.close()
