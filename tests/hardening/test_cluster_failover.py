"""A Cluster master killed mid-traffic: every answer during the failover is UNAVAILABLE, then success."""

from __future__ import annotations

import asyncio
import time

import grpc
import redis
from balance.v1 import balance_service_pb2 as bal

from devtools.redis_procs import HOST, RedisCluster, RedisProcess, free_port
from tests.hardening.support import SERVICES, Call, invoke, reason, settings_for


def _wait(predicate, what: str, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.05)


def _replicas(port: int, master_id: str) -> int:
    """How many replicas of `master_id` the node at `port` knows."""
    with redis.Redis(host=HOST, port=port) as client:
        return len(client.execute_command("CLUSTER", "REPLICAS", master_id))


def _bus_port(node: RedisProcess) -> int:
    return int(node.extra_args[node.extra_args.index("--cluster-port") + 1])


async def test_a_master_killed_mid_traffic_gives_unavailable_then_success(tmp_path, start_server, channel_to):
    with RedisCluster(tmp_path / "cluster", appendonly=False) as cluster:
        account = "acct_failover"
        with redis.RedisCluster(host=HOST, port=cluster.nodes[0].port, decode_responses=True) as client:
            owner = client.get_node_from_key(f"bal:{{{account}}}")
            master = next(n for n in cluster.nodes if n.port == owner.port)
            master_id = client.cluster_myid(owner)
        bus = free_port()
        replica = RedisProcess(
            tmp_path / "replica", cluster=True, appendonly=False, extra_args=["--cluster-port", str(bus)]
        )
        with replica, redis.Redis(host=HOST, port=replica.port, decode_responses=True) as r:
            r.cluster("MEET", HOST, master.port, _bus_port(master))
            _wait(
                lambda: any(n["node_id"] == master_id for n in r.cluster("NODES").values()),
                "the replica to learn the master",
            )
            with redis.Redis(host=HOST, port=master.port) as m:
                m.config_set("repl-diskless-sync-delay", 0)  # sync at once, not after 5 s
            r.cluster("REPLICATE", master_id)
            _wait(lambda: r.info("replication").get("master_link_status") == "up", "replication")
            # The other masters vote in the failover election only for a replica they know of.
            for node in cluster.nodes:
                _wait(lambda p=node.port: _replicas(p, master_id) == 1, "every master to know the replica")

            overrides = {"redis_url": cluster.url, "redis_cluster_nodes": cluster.startup_nodes}
            channel = channel_to(
                await start_server(SERVICES["balance"][0], settings_for("balance", overrides))
            )
            results = []
            n = 0

            async def credit():
                nonlocal n
                n += 1
                request = bal.CreditRequest(
                    account_id=account,
                    amount_minor=1,
                    currency="USD",
                    reason=bal.TRANSACTION_REASON_TOP_UP,
                    request_id=f"failover-{n}",
                )
                return await invoke(channel, Call("/balance.v1.BalanceService/Credit", request), deadline_s=5)

            assert not isinstance(await credit(), grpc.aio.AioRpcError)
            master.kill9()
            killed = time.monotonic()
            for _ in range(400):  # until the replica has taken over and a credit succeeds
                result = await credit()
                results.append(result)
                if not isinstance(result, grpc.aio.AioRpcError):
                    break
                await asyncio.sleep(0.05)
            took_s = time.monotonic() - killed
            print(f"\nfailover: {len(results) - 1} UNAVAILABLE answers, then success after {took_s:.1f} s")

    errors = [r for r in results if isinstance(r, grpc.aio.AioRpcError)]
    assert errors, "the failover was not observed"
    assert {(e.code(), reason(e)) for e in errors} == {(grpc.StatusCode.UNAVAILABLE, "BACKEND_UNAVAILABLE")}
    assert not isinstance(results[-1], grpc.aio.AioRpcError)
