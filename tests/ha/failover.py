"""One failover under load: writers credit and debit through a real balance_svc on a Sentinel group or a
Cluster, replicas are held back, the primary is killed -9, and every acknowledged mutation is looked up."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from dataclasses import dataclass, field

import grpc
import redis
from balance.v1 import balance_service_pb2 as pb
from balance.v1 import balance_service_pb2_grpc
from redis.crc import key_slot

from balance_svc.config import Settings
from balance_svc.server import create_server
from devtools.redis_procs import CLUSTER_SLOTS, HOST, RedisCluster, RedisProcess, SentinelGroup
from svckit.status import error_info
from tests.conftest import base_settings

_ids = itertools.count()
_CALL_DEADLINE_S = 2.0
_RETRY_PAUSE_S = 0.05
_RECOVERY_LIMIT_S = 30.0  # writes may never resume: the data-loss guard holds them after a loss


@dataclass
class Outcome:
    """What the writers saw: acknowledged mutations, and when writes failed around the kill."""

    acknowledged: dict[str, dict[str, int]] = field(default_factory=dict)  # account -> request_id -> amount
    refusals: dict[str, int] = field(default_factory=dict)  # ErrorInfo reason (or code) -> count
    killed_at: float = 0.0
    first_ok_after_kill: float | None = None
    lost: int = 0
    inconsistent_accounts: int = 0
    recovered: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def acknowledged_count(self) -> int:
        return sum(len(ids) for ids in self.acknowledged.values())

    @property
    def unavailable_s(self) -> float:
        """From the kill to the first acknowledgement of a call sent after it."""
        return (self.first_ok_after_kill or float("nan")) - self.killed_at


def sentinel_settings(group: SentinelGroup, acks: int, **overrides) -> Settings:
    return Settings(
        **base_settings(
            redis_url="",
            redis_cluster_nodes="",
            redis_sentinels=group.sentinel_addrs,
            redis_sentinel_master=group.master_name,
            redis_min_replica_acks=acks,
            redis_replica_ack_timeout_ms=300,
            **overrides,
        )
    )


def _reason(error: grpc.aio.AioRpcError) -> str:
    info = error_info(error)
    return info.reason if info else error.code().name


async def _writer(stub, account: str, outcome: Outcome, stop: asyncio.Event) -> None:
    """Credits 3, debits 1, credits 3...; a failed call is retried with its request_id until acknowledged."""
    mine = outcome.acknowledged.setdefault(account, {})
    for n in itertools.count():
        if stop.is_set():
            return
        request_id = f"{account}-{n}-{next(_ids)}"
        credit = n % 2 == 0
        while True:
            started = time.monotonic()
            try:
                if credit:
                    await stub.Credit(
                        pb.CreditRequest(
                            account_id=account,
                            amount_minor=3,
                            currency="USD",
                            reason=pb.TRANSACTION_REASON_TOP_UP,
                            request_id=request_id,
                        ),
                        timeout=_CALL_DEADLINE_S,
                    )
                else:
                    await stub.Debit(
                        pb.DebitRequest(
                            account_id=account,
                            amount_minor=1,
                            currency="USD",
                            reason=pb.TRANSACTION_REASON_USAGE,
                            request_id=request_id,
                        ),
                        timeout=_CALL_DEADLINE_S,
                    )
            except grpc.aio.AioRpcError as error:
                reason = _reason(error)
                outcome.refusals[reason] = outcome.refusals.get(reason, 0) + 1
                if error.code() not in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
                    break  # refused on its merits: INSUFFICIENT_FUNDS once a credit was lost
                if stop.is_set():  # held for good, say by the data-loss guard after a loss
                    return
                await asyncio.sleep(_RETRY_PAUSE_S)
                continue
            mine[request_id] = 3 if credit else -1
            if outcome.killed_at and started > outcome.killed_at and outcome.first_ok_after_kill is None:
                outcome.first_ok_after_kill = time.monotonic()
                outcome.recovered.set()
            break


async def _count_lost(stub, outcome: Outcome) -> None:
    for account, acked in outcome.acknowledged.items():
        found, token = set(), ""
        while True:
            page = await stub.ListTransactions(
                pb.ListTransactionsRequest(account_id=account, page_size=100, page_token=token)
            )
            found |= {t.request_id for t in page.transactions}
            token = page.next_page_token
            if not token:
                break
        outcome.lost += len(set(acked) - found)
        verdict = await stub.VerifyAccount(pb.VerifyAccountRequest(account_id=account))
        outcome.inconsistent_accounts += not verdict.consistent


class SentinelTopology:
    """A Sentinel group as failover_under_load drives it."""

    def __init__(self, group: SentinelGroup) -> None:
        self.group = group

    def settings(self, acks: int) -> Settings:
        return sentinel_settings(self.group, acks)

    def accounts(self, count: int) -> list[str]:
        return [f"ha_{next(_ids)}" for _ in range(count)]

    def victim(self) -> RedisProcess:
        return self.group.primary()

    def hold_back(self) -> None:
        self.group.hold_back_replica()

    def wait_for_failover(self, victim: RedisProcess) -> None:
        self.group.wait_for_new_primary(victim)

    def recover(self, victim: RedisProcess) -> None:
        self.group.release_replica()
        self.group.restart_as_replica(victim)


class ClusterTopology:
    """A Cluster with a replica per master; the victim is the first master, and every account lives there."""

    def __init__(self, cluster: RedisCluster) -> None:
        self.cluster = cluster

    def settings(self, acks: int) -> Settings:
        return Settings(
            **base_settings(
                redis_url="",
                redis_cluster_nodes=self.cluster.startup_nodes,
                redis_min_replica_acks=acks,
                redis_replica_ack_timeout_ms=300,
            )
        )

    def accounts(self, count: int) -> list[str]:
        end = CLUSTER_SLOTS // len(self.cluster.nodes)  # the first master's slots: 0 .. end - 1
        found: list[str] = []
        while len(found) < count:
            if key_slot((name := f"ha_{next(_ids)}").encode()) < end:
                found.append(name)
        return found

    def victim(self) -> RedisProcess:
        return self.cluster.nodes[0]

    def hold_back(self) -> None:
        self.cluster.hold_back_replicas()

    def wait_for_failover(self, victim: RedisProcess, timeout: float = 30.0) -> None:
        """Until the victim's replica is a master and a surviving master reports the cluster ok."""
        replica = self.cluster.replicas[self.cluster.nodes.index(victim)]
        deadline = time.monotonic() + timeout
        with (
            redis.Redis(host=HOST, port=replica.port, decode_responses=True) as promoted,
            redis.Redis(host=HOST, port=self.cluster.nodes[1].port, decode_responses=True) as other,
        ):
            while time.monotonic() < deadline:
                if (
                    promoted.info("replication")["role"] == "master"
                    and other.cluster("INFO")["cluster_state"] == "ok"
                ):
                    return
                time.sleep(0.05)
        raise RuntimeError(f"no failover away from port {victim.port} in {timeout}s")

    def recover(self, victim: RedisProcess) -> None:
        self.cluster.release_replicas()
        victim.start()  # its nodes.conf makes it a replica of the master that took its slots


async def failover_under_load(
    topology: SentinelTopology | ClusterTopology,
    *,
    acks: int,
    writers: int = 4,
    hold_s: float = 0.5,
    after_s: float = 0.5,
) -> Outcome:
    """Writes, holds the replicas back for `hold_s` of writes, kills the primary (or a master) -9 and lets
    Sentinel (or the Cluster) promote its replica; the killed server comes back as a replica, so acks=1
    can be met again."""
    app, port = await create_server(topology.settings(acks))
    await app.start()
    outcome, stop = Outcome(), asyncio.Event()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = balance_service_pb2_grpc.BalanceServiceStub(channel)
            tasks = [
                asyncio.create_task(_writer(stub, account, outcome, stop))
                for account in topology.accounts(writers)
            ]
            try:
                await asyncio.sleep(0.3)
                victim = topology.victim()
                await asyncio.to_thread(topology.hold_back)
                await asyncio.sleep(hold_s)
                victim.kill9()
                outcome.killed_at = time.monotonic()
                await asyncio.to_thread(topology.wait_for_failover, victim)
                await asyncio.to_thread(topology.recover, victim)
            except BaseException:  # no promotion: the writers would retry for ever
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
                raise
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(outcome.recovered.wait(), _RECOVERY_LIMIT_S)
                await asyncio.sleep(after_s)
            stop.set()
            await asyncio.gather(*tasks)
            await _count_lost(stub, outcome)
    finally:
        await app.stop(0)
    return outcome
