"""balance_svc on a real Sentinel group (primary, replica, three Sentinels): failover, replica acks."""

from __future__ import annotations

import asyncio
import time

import grpc
import pytest
import redis
from balance.v1 import balance_service_pb2_grpc

from balance_svc.server import create_server
from devtools.redis_procs import HOST, SentinelGroup
from tests.balance.support import Balances, refused
from tests.ha.failover import SentinelTopology, failover_under_load, sentinel_settings


@pytest.fixture
def start_sentinel_balances(start_server, channel_to):
    async def _start(group: SentinelGroup, acks: int) -> Balances:
        addr = await start_server(create_server, sentinel_settings(group, acks))
        return Balances(balance_service_pb2_grpc.BalanceServiceStub(channel_to(addr)), None, {})

    return _start


async def test_acks_0_loses_acknowledged_credits_when_the_primary_dies_ahead_of_its_replica(sentinel_group):
    outcome = await failover_under_load(SentinelTopology(sentinel_group), acks=0)
    assert outcome.acknowledged_count > 0
    assert outcome.lost > 0  # the loss window is real, so the acks=1 test below can fail


async def test_acks_1_loses_no_acknowledged_mutation_across_a_sentinel_failover(sentinel_group):
    outcome = await failover_under_load(SentinelTopology(sentinel_group), acks=1)
    assert outcome.acknowledged_count > 0
    assert outcome.refusals.get("REPLICATION_UNCONFIRMED", 0) > 0  # the held-back replica was noticed
    assert outcome.lost == 0
    assert outcome.inconsistent_accounts == 0


async def test_a_lagging_replica_turns_credits_into_replication_unconfirmed_and_the_retry_applies_once(
    sentinel_group, start_sentinel_balances
):
    balances = await start_sentinel_balances(sentinel_group, acks=1)
    await balances.credit("acct_lag", 100, request_id="first")
    sentinel_group.hold_back_replica()

    refusal = await refused(balances.credit("acct_lag", 5, request_id="during-lag"))
    assert (refusal.code, refusal.reason) == (grpc.StatusCode.UNAVAILABLE, "REPLICATION_UNCONFIRMED")
    assert (await balances.balance("acct_lag")).available_minor == 105  # reads are not held

    sentinel_group.release_replica()
    sentinel_group.wait_until_replicated()
    await balances.credit("acct_lag", 5, request_id="during-lag")
    assert (await balances.balance("acct_lag")).available_minor == 105
    assert (await balances.verify("acct_lag")).transaction_count == 2


async def test_the_service_follows_a_sentinel_failover_when_its_old_primary_turns_read_only(
    sentinel_group, start_sentinel_balances
):
    balances = await start_sentinel_balances(sentinel_group, acks=0)
    await balances.credit("acct_ro", 10)
    old = sentinel_group.primary()
    with redis.Redis(host=HOST, port=sentinel_group.sentinels[0].port) as sentinel:
        sentinel.execute_command("SENTINEL", "FAILOVER", sentinel_group.master_name)
    await asyncio.to_thread(sentinel_group.wait_for_new_primary, old)
    await asyncio.to_thread(_wait_until_replica, old.port)

    # The pooled connections still lead to the old primary, now a replica that answers READONLY.
    await balances.credit("acct_ro", 10)
    assert (await balances.balance("acct_ro")).available_minor == 20


def _wait_until_replica(port: int) -> None:
    with redis.Redis(host=HOST, port=port, decode_responses=True) as client:
        while client.info("replication")["role"] != "slave":
            time.sleep(0.05)
