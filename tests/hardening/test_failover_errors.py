"""Replies of a Redis in failover (READONLY, MASTERDOWN, LOADING, CLUSTERDOWN, TRYAGAIN) are UNAVAILABLE.

Each reply is provoked from a real server: a replica refuses writes, a replica cut off from its master
refuses reads, a server loading a large snapshot answers LOADING, a Cluster node without its slots says
CLUSTERDOWN, and a slot half-way through a migration answers a multi-key script with TRYAGAIN.
"""

from __future__ import annotations

import subprocess
import time

import grpc
import pytest
import redis
from balance.v1 import balance_service_pb2 as bal
from redis.backoff import NoBackoff
from redis.retry import Retry

from devtools.redis_procs import HOST, RedisCluster, RedisProcess
from tests.hardening.support import REDIS_CALLS, SERVICES, Call, invoke, reason, settings_for


def _wait(predicate, what: str, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.05)


def _assert_backend_unavailable(result) -> None:
    assert isinstance(result, grpc.aio.AioRpcError), result
    assert (result.code(), reason(result)) == (grpc.StatusCode.UNAVAILABLE, "BACKEND_UNAVAILABLE")


async def _start(service, start_server, channel_to, overrides) -> grpc.aio.Channel:
    return channel_to(await start_server(SERVICES[service][0], settings_for(service, overrides)))


@pytest.fixture
def master_and_replica(tmp_path):
    """A master and its replica, which refuses reads while it has no master (replica-serve-stale-data no)."""
    # No diskless-sync delay (5 s by default): the replica syncs at once.
    with RedisProcess(
        tmp_path / "master", appendonly=False, extra_args=["--repl-diskless-sync-delay", "0"]
    ) as master:
        replica = RedisProcess(
            tmp_path / "replica",
            appendonly=False,
            extra_args=["--replicaof", HOST, str(master.port), "--replica-serve-stale-data", "no"],
        )
        with replica, redis.Redis(host=HOST, port=replica.port) as client:
            _wait(lambda: client.info("replication")["master_link_status"] == "up", "replication")
            yield master, replica


async def test_writes_to_a_replica_are_unavailable_not_internal(master_and_replica, start_server, channel_to):
    _, replica = master_and_replica
    overrides = {"redis_url": replica.url, "redis_cluster_nodes": ""}
    for service in SERVICES:
        channel = await _start(service, start_server, channel_to, overrides)
        mutation = REDIS_CALLS[service][1]
        if service == "balance":  # the only mutation here that writes before it reads
            _assert_backend_unavailable(await invoke(channel, mutation))


async def test_reads_from_a_replica_without_master_are_unavailable_not_internal(
    master_and_replica, start_server, channel_to
):
    master, replica = master_and_replica
    overrides = {"redis_url": replica.url, "redis_cluster_nodes": ""}
    channels = {s: await _start(s, start_server, channel_to, overrides) for s in SERVICES}
    master.stop()
    with redis.Redis(host=HOST, port=replica.port) as client:
        _wait(lambda: client.info("replication")["master_link_status"] == "down", "the replica to notice")
    for service, channel in channels.items():
        for call in REDIS_CALLS[service]:
            _assert_backend_unavailable(await invoke(channel, call))


async def test_a_redis_loading_its_data_is_unavailable_not_internal(tmp_path, start_server, channel_to):
    server = RedisProcess(
        tmp_path,
        appendonly=False,
        # Loading 200k keys at 50 us each takes 10 s, answering LOADING between small chunks.
        extra_args=[
            *("--key-load-delay", "50", "--loading-process-events-interval-bytes", "1024"),
            *("--enable-debug-command", "yes"),
        ],
    )
    with server, redis.Redis(host=HOST, port=server.port) as client:
        client.execute_command("DEBUG", "POPULATE", 200_000)
        client.save()
    loading = _spawn(server)
    try:
        # No retries: redis-py's default backs off for seconds on a refused connection.
        with redis.Redis(host=HOST, port=server.port, retry=Retry(NoBackoff(), 0)) as client:
            _wait(lambda: _is_loading(client), "the server to start loading")
        overrides = {"redis_url": server.url, "redis_cluster_nodes": ""}
        for service in SERVICES:
            channel = await _start(service, start_server, channel_to, overrides)
            _assert_backend_unavailable(await invoke(channel, REDIS_CALLS[service][0]))
    finally:
        loading.kill()
        loading.wait()


def _spawn(server: RedisProcess) -> subprocess.Popen:
    """Starts the server without waiting for it to answer PING (which it will not while loading)."""
    with open(server.log_path, "ab") as log:
        return subprocess.Popen(server.command(), stdout=log, stderr=subprocess.STDOUT)


def _is_loading(client: redis.Redis) -> bool:
    try:
        client.ping()
    except redis.BusyLoadingError:
        return True
    except redis.ConnectionError:
        return False
    return False


@pytest.fixture
def own_cluster(tmp_path):
    with RedisCluster(tmp_path, appendonly=False) as cluster:
        yield cluster


def _owner(cluster: RedisCluster, key: str) -> tuple[redis.Redis, int]:
    """A client to the node that serves `key`'s slot, and the slot."""
    with redis.Redis(host=HOST, port=cluster.nodes[0].port) as any_node:
        slot = any_node.cluster("KEYSLOT", key)
        for start, end, (_host, port, *_), *_ in any_node.cluster("SLOTS"):
            if start <= slot <= end:
                return redis.Redis(host=HOST, port=port, decode_responses=True), slot
    raise AssertionError(f"no node serves slot {slot}")


async def test_a_cluster_without_full_slot_coverage_is_unavailable_not_internal(
    own_cluster, start_server, channel_to
):
    overrides = {"redis_url": own_cluster.url, "redis_cluster_nodes": own_cluster.startup_nodes}
    channel = await _start("balance", start_server, channel_to, overrides)
    node, slot = _owner(own_cluster, "bal:{acct_1}")
    with node:
        node.cluster("DELSLOTS", slot)  # this node now says CLUSTERDOWN: the cluster lost a slot
        _wait(lambda: node.cluster("INFO")["cluster_state"] == "fail", "the node to say CLUSTERDOWN")
        for call in REDIS_CALLS["balance"]:
            _assert_backend_unavailable(await invoke(channel, call))


async def test_a_script_on_a_slot_being_migrated_is_unavailable_not_internal(
    own_cluster, start_server, channel_to
):
    overrides = {"redis_url": own_cluster.url, "redis_cluster_nodes": own_cluster.startup_nodes}
    channel = await _start("balance", start_server, channel_to, overrides)
    credit = REDIS_CALLS["balance"][1]
    assert not isinstance(await invoke(channel, credit), grpc.aio.AioRpcError)  # the account's keys exist
    node, slot = _owner(own_cluster, "bal:{acct_1}")
    with node:
        target = next(n for n in node.cluster("NODES").values() if "myself" not in n["flags"])["node_id"]
        # Half-way through a migration: some of the script's keys are here, the new request's is not.
        node.cluster("SETSLOT", slot, "MIGRATING", target)
        with pytest.raises(redis.exceptions.TryAgainError):  # what the service's script gets, too
            node.mget("bal:{acct_1}", "bal:{acct_1}:no-such-key")
        again = bal.CreditRequest()
        again.CopyFrom(credit.request)
        again.request_id = "credit-2"
        _assert_backend_unavailable(await invoke(channel, Call(credit.method, again)))
