"""Plain (non-script) writes that money or exactly-once depends on wait for the replicas like scripts do, on
a real Sentinel group and a real Cluster with replicas; a slot being migrated is followed (ASK)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass

import pytest
import redis
from redis.backoff import NoBackoff
from redis.crc import key_slot
from redis.retry import Retry

from balance_svc import events
from balance_svc.config import Settings as BalanceSettings
from balance_svc.model import LowBalanceCrossing
from balance_svc.server import create_server as create_balance
from devtools.redis_procs import (
    CLUSTER_SLOTS,
    HOST,
    RedisCluster,
    RedisProcess,
    SentinelGroup,
    wait_until_replicated,
)
from payment_svc.auto_top_up_store import AutoTopUpStore
from payment_svc.customer_store import CustomerStore
from payment_svc.order_event_stream import OrderEventStream
from payment_svc.order_store import OrderStore, RefundRequest
from payment_svc.orders import Kind, Order, Status
from payment_svc.webhook_event_store import WebhookEventStore
from svckit.config import CommonSettings
from svckit.data_guard import DataGuard
from svckit.redis_client import RedisClient, connect, script_factory
from svckit.replica_acks import ReplicationUnconfirmed, acked_writes
from tests.balance.support import RedisProxy
from tests.conftest import base_settings

_ORDER = Order("ord_000000000000000000000001", "acct-1", Kind.TOP_UP, Status.PAID, 1000, "USD", create_ms=1)
_INCR = "return redis.call('incr', KEYS[1])"


def _plain_writes(client: RedisClient) -> dict[str, Callable[[], Awaitable[object]]]:
    """Every write of payment_svc's stores that is not a script, balance_svc's low-balance event (it
    triggers auto top-up) and the data guard's epoch."""
    orders = OrderStore(client)
    customers = CustomerStore(client)
    auto_top_ups = AutoTopUpStore(client, request_ttl_s=60, lock_ttl_s=60)
    return {
        "webhook event outcome": lambda: WebhookEventStore(client, 60).record("evt_1", "fulfilled"),
        "session and intent links": lambda: orders.link(
            _ORDER.order_id, session_id="cs_1", payment_intent_id="pi_1"
        ),
        "order indexes": lambda: orders.index(_ORDER),
        "code attempt": lambda: orders.bump_code_attempt(_ORDER.order_id),
        "refund id": lambda: orders.record_refund_id(_ORDER.order_id, "r1", RefundRequest("fp", 100, "re_1")),
        "customer id": lambda: customers.keep_first_customer_id("acct-1", "cus_1"),
        "default card": lambda: customers.remember_card("acct-1", "pm_1"),
        "auto top-up lock": lambda: auto_top_ups.lock("acct-1", "ord_a"),
        "order event": lambda: OrderEventStream(client, "payment:order_events", 100).publish(
            _ORDER, "order.paid"
        ),
        "low-balance event": lambda: events.publish(
            client, "balance:low_balance", LowBalanceCrossing("acct-1", "tx_1", "USD", 10, 100), 100
        ),
        "data guard epoch": lambda: DataGuard(client, "payment").check(),
    }


@dataclass
class _Replicated:
    """A Sentinel group or a Cluster with replicas, as these tests hold back and release its replicas."""

    settings: dict
    hold_back: Callable[[], None]
    release: Callable[[], None]


@pytest.fixture(params=["sentinel", "cluster"])
def replicated(request) -> _Replicated:
    if request.param == "sentinel":
        group: SentinelGroup = request.getfixturevalue("sentinel_group")
        return _Replicated(
            {"redis_sentinels": group.sentinel_addrs, "redis_sentinel_master": group.master_name},
            group.hold_back_replica,
            lambda: (group.release_replica(), group.wait_until_replicated()),
        )
    cluster: RedisCluster = request.getfixturevalue("cluster_with_replicas")

    def release() -> None:
        cluster.release_replicas()
        for master in cluster.nodes:
            wait_until_replicated(master.port)

    return _Replicated({"redis_cluster_nodes": cluster.startup_nodes}, cluster.hold_back_replicas, release)


@pytest.fixture
async def acked_client(replicated) -> AsyncIterator[Callable[[int], RedisClient]]:
    """`acked_client(timeout_ms)`: a client like payment_svc's (decoded replies) with replica acks 1."""
    clients: list[RedisClient] = []

    def _connect(timeout_ms: int) -> RedisClient:
        settings = CommonSettings(
            redis_min_replica_acks=1, redis_replica_ack_timeout_ms=timeout_ms, **replicated.settings
        )
        clients.append(connect(settings, decode_responses=True))
        return clients[-1]

    yield _connect
    for client in clients:
        await client.aclose()


async def test_each_plain_payment_write_is_unconfirmed_while_the_replica_lags_and_applies_after(
    replicated, acked_client
):
    replicated.hold_back()
    for name, write in _plain_writes(acked_client(100)).items():
        with pytest.raises(ReplicationUnconfirmed):
            await write()
            pytest.fail(f"{name} was acknowledged without a replica")

    replicated.release()
    client = acked_client(2000)  # a loaded machine: the replica is there, its answer may be slow
    for write in _plain_writes(client).values():
        await write()
    assert await OrderStore(client).order_for_payment_intent("pi_1") == _ORDER.order_id
    assert await WebhookEventStore(client, 60).outcome("evt_1") == "fulfilled"


_HOUSEKEEPING = {b"PING", b"CLIENT", b"HELLO", b"SELECT", b"INFO"}


@pytest.mark.parametrize("acks", [0, 1])
async def test_a_plain_write_sends_wait_behind_it_only_with_acks(acks, tmp_path):
    with RedisProcess(tmp_path / "primary") as primary:
        with RedisProcess(tmp_path / "replica", extra_args=["--replicaof", HOST, str(primary.port)]):
            wait_until_replicated(primary.port)
            proxy = RedisProxy(primary.port)
            port = await proxy.start()
            client = connect(
                CommonSettings(redis_url=f"redis://{HOST}:{port}/0", redis_min_replica_acks=acks),
                decode_responses=True,
            )
            try:
                writes = _plain_writes(client)
                del writes["data guard epoch"]  # reads around its write
                for name, write in writes.items():
                    proxy.commands.clear()
                    await write()
                    sent = [c[0].upper() for c in proxy.commands if c[0].upper() not in _HOUSEKEEPING]
                    assert sent.count(b"WAIT") == acks, name
                    if name == "order indexes":  # one pipeline, one WAIT behind both writes
                        assert sent == [b"ZADD", b"ZADD", *([b"WAIT"] if acks else [])]
            finally:
                await client.aclose()
                proxy.close()


def _slot_of_first_master(cluster: RedisCluster, prefix: str) -> str:
    """A hash tag whose slot the first master serves (the fixture gives it slots 0 .. 1/3 of them)."""
    n = 0
    while key_slot(f"{prefix}{n}".encode()) >= CLUSTER_SLOTS // len(cluster.nodes):
        n += 1
    return f"{prefix}{n}"


async def test_acked_scripts_and_writes_follow_a_slot_being_migrated(cluster_with_replicas):
    source, target = cluster_with_replicas.nodes[0], cluster_with_replicas.nodes[1]
    tag = _slot_of_first_master(cluster_with_replicas, "migrating")
    slot = key_slot(tag.encode())
    settings = CommonSettings(
        redis_cluster_nodes=cluster_with_replicas.startup_nodes,
        redis_min_replica_acks=1,
        redis_replica_ack_timeout_ms=1000,
    )
    client = connect(settings)
    incr = script_factory(client)(_INCR)
    try:
        assert await incr(keys=[f"{{{tag}}}:stays"]) == 1  # written before the migration starts
        with (
            redis.Redis(host=HOST, port=source.port) as source_node,
            redis.Redis(host=HOST, port=target.port) as target_node,
        ):
            source_id, target_id = source_node.cluster("MYID"), target_node.cluster("MYID")
            target_node.cluster("SETSLOT", slot, "IMPORTING", source_id)
            source_node.cluster("SETSLOT", slot, "MIGRATING", target_id)

            # A key still on the source is served there; a new one is sent on to the target (ASK).
            assert await incr(keys=[f"{{{tag}}}:stays"]) == 2
            assert await incr(keys=[f"{{{tag}}}:new"]) == 1
            await acked_writes(client, ("SET", f"{{{tag}}}:plain", "v"))

            assert _keys_in(source_node, slot) == {f"{{{tag}}}:stays"}
            assert _keys_in(target_node, slot) == {f"{{{tag}}}:new", f"{{{tag}}}:plain"}
    finally:
        await client.aclose()


def _keys_in(node: redis.Redis, slot: int) -> set[str]:
    return {k.decode() if isinstance(k, bytes) else k for k in node.cluster("GETKEYSINSLOT", slot, 100)}


async def test_more_replicas_than_acks_is_warned_at_startup_before_any_write(tmp_path, caplog, start_server):
    caplog.set_level(logging.WARNING, logger="redis")
    with RedisProcess(tmp_path / "primary") as primary:
        replicas = [
            RedisProcess(tmp_path / f"replica{i}", extra_args=["--replicaof", HOST, str(primary.port)])
            for i in range(2)
        ]
        with replicas[0], replicas[1]:
            await asyncio.to_thread(_wait_for_replicas, primary.port, 2)
            for acks, warned in ((1, True), (2, False)):
                caplog.clear()
                settings = base_settings(
                    redis_url=primary.url, redis_cluster_nodes="", redis_min_replica_acks=acks
                )
                await start_server(create_balance, BalanceSettings(**settings))  # and no RPC
                found = [r for r in caplog.records if "promoted replica may be one" in r.getMessage()]
                assert bool(found) is warned, acks


def _wait_for_replicas(port: int, count: int) -> None:
    with redis.Redis(host=HOST, port=port) as primary:
        while int(primary.info("replication")["connected_slaves"]) < count:
            time.sleep(0.05)


_ONCE = (
    "if redis.call('exists', KEYS[1]) == 1 then return 'replayed' end "
    "redis.call('set', KEYS[1], 'v') return 'applied'"
)


@contextlib.contextmanager
def _replica_asleep(port: int, seconds: float = 3.0) -> Iterator[None]:
    """The replica stays connected but applies nothing (DEBUG SLEEP): it falls behind, unlike a cut link."""
    with (
        redis.Redis(host=HOST, port=port, socket_timeout=seconds + 5) as sleeper,
        redis.Redis(host=HOST, port=port, socket_timeout=0.05, retry=Retry(NoBackoff(), 0)) as probe,
    ):
        probe.ping()  # connected now: a connection's handshake would wait out the sleep
        thread = threading.Thread(target=sleeper.execute_command, args=("DEBUG", "SLEEP", seconds))
        thread.start()
        while thread.is_alive():  # until the replica stops answering
            try:
                probe.ping()
            except redis.TimeoutError:
                break
            time.sleep(0.01)
        assert thread.is_alive(), "the replica never went to sleep"
        try:
            yield
        finally:
            thread.join()


async def test_a_retry_that_writes_nothing_still_waits_until_the_replica_holds_the_first_attempt(tmp_path):
    """WAIT counts from the offset at this connection's last command, read or write (Redis sets it for
    every command), and the replayed call rides just before it: so it cannot confirm an older write only."""
    with RedisProcess(tmp_path / "primary") as primary:
        replica_args = ["--replicaof", HOST, str(primary.port), "--enable-debug-command", "yes"]
        with RedisProcess(tmp_path / "replica", extra_args=replica_args) as replica:
            wait_until_replicated(primary.port)
            settings = CommonSettings(
                redis_url=primary.url, redis_min_replica_acks=1, redis_replica_ack_timeout_ms=200
            )
            first, other = connect(settings), connect(settings)  # say, two processes of one service
            try:
                once_first, once_other = script_factory(first)(_ONCE), script_factory(other)(_ONCE)
                assert (
                    await once_other(keys=["warm-up"]) == b"applied"
                )  # other's connection: a confirmed write
                with _replica_asleep(replica.port):
                    with pytest.raises(ReplicationUnconfirmed):
                        await once_first(keys=["request-1"])
                    with pytest.raises(
                        ReplicationUnconfirmed
                    ):  # the retry elsewhere finds it and writes nothing
                        await once_other(keys=["request-1"])
                    with pytest.raises(ReplicationUnconfirmed):  # likewise a plain write that changes nothing
                        await acked_writes(other, ("HSETNX", "warm-up:hash", "field", "v"))
                wait_until_replicated(primary.port)
                assert await once_other(keys=["request-1"]) == b"replayed"
            finally:
                await first.aclose()
                await other.aclose()
