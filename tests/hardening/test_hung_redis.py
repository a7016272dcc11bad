"""A Redis that accepts connections but never answers (SIGSTOP) is UNAVAILABLE before the deadline."""

from __future__ import annotations

import asyncio

import grpc
import pytest

from devtools.redis_procs import RedisCluster, RedisProcess
from tests.hardening.support import REDIS_CALLS, SERVICES, invoke, reason, settings_for, stopped

# A short deadline and one far longer than the REDIS_TIMEOUT_S ceiling (2 s): neither ends in the
# caller's own DEADLINE_EXCEEDED, because the service answers first.
DEADLINES_S = (2.0, 10.0)


async def _until_answered(channel, call) -> object:
    """Retries while the backend still refuses (right after SIGCONT), up to about 20 s."""
    for _ in range(100):
        result = await invoke(channel, call, deadline_s=5)
        if reason(result) != "BACKEND_UNAVAILABLE":
            return result
        await asyncio.sleep(0.2)
    return result


async def _assert_unavailable_while_hung(channel, calls, pids) -> None:
    for call in calls:
        await invoke(channel, call)  # connections are open before the stall
    with stopped(*pids):
        results = await asyncio.gather(
            *(invoke(channel, call, deadline_s=deadline) for call in calls for deadline in DEADLINES_S)
        )
    for result in results:
        assert isinstance(result, grpc.aio.AioRpcError), result
        assert (result.code(), reason(result)) == (grpc.StatusCode.UNAVAILABLE, "BACKEND_UNAVAILABLE")
    for call in calls:  # and the service recovers once Redis answers again
        assert reason(await _until_answered(channel, call)) != "BACKEND_UNAVAILABLE"


@pytest.mark.parametrize("service", SERVICES)
async def test_hung_redis_is_unavailable_before_the_deadline_and_recovers(
    service, tmp_path, start_server, channel_to
):
    with RedisProcess(tmp_path, appendonly=False) as redis:
        settings = settings_for(service, {"redis_url": redis.url, "redis_cluster_nodes": ""})
        channel = channel_to(await start_server(SERVICES[service][0], settings))
        await _assert_unavailable_while_hung(channel, REDIS_CALLS[service], [redis.pid])


async def test_hung_cluster_is_unavailable_before_the_deadline_and_recovers(
    tmp_path, start_server, channel_to
):
    with RedisCluster(tmp_path, appendonly=False) as cluster:
        overrides = {"redis_url": cluster.url, "redis_cluster_nodes": cluster.startup_nodes}
        channel = channel_to(await start_server(SERVICES["balance"][0], settings_for("balance", overrides)))
        await _assert_unavailable_while_hung(channel, REDIS_CALLS["balance"], [n.pid for n in cluster.nodes])
