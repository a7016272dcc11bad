"""balance_svc on a real 3-master x 1-replica Redis Cluster: replica acks, and kill -9 of a master."""

from __future__ import annotations

import grpc
import pytest
from balance.v1 import balance_service_pb2_grpc
from redis.crc import key_slot

from balance_svc.config import Settings
from balance_svc.server import create_server
from devtools.redis_procs import CLUSTER_SLOTS, wait_until_replicated
from tests.balance.support import Balances, refused
from tests.conftest import base_settings
from tests.ha.failover import ClusterTopology, failover_under_load


@pytest.fixture
async def acked_balances(cluster_with_replicas, start_server, channel_to) -> Balances:
    settings = Settings(
        **base_settings(
            redis_url="",
            redis_cluster_nodes=cluster_with_replicas.startup_nodes,
            redis_min_replica_acks=1,
            redis_replica_ack_timeout_ms=1000,  # a loaded machine; the held-back calls wait this long
        )
    )
    addr = await start_server(create_server, settings)
    return Balances(balance_service_pb2_grpc.BalanceServiceStub(channel_to(addr)), None, {})


async def test_cluster_mutations_wait_for_the_replica_of_the_master_that_ran_them(
    cluster_with_replicas, acked_balances
):
    accounts = [f"acct_{i}" for i in range(6)]
    masters = len(cluster_with_replicas.nodes)  # the fixture gives master i the i-th equal slot range
    assert {key_slot(account.encode()) * masters // CLUSTER_SLOTS for account in accounts} == set(
        range(masters)
    )
    for account in accounts:
        await acked_balances.credit(account, 7, request_id=f"{account}-ok")

    cluster_with_replicas.hold_back_replicas()
    for account in accounts:
        refusal = await refused(acked_balances.credit(account, 5, request_id=f"{account}-lag"))
        assert (refusal.code, refusal.reason) == (grpc.StatusCode.UNAVAILABLE, "REPLICATION_UNCONFIRMED")

    cluster_with_replicas.release_replicas()
    for master in cluster_with_replicas.nodes:
        wait_until_replicated(master.port)
    for account in accounts:
        await acked_balances.credit(account, 5, request_id=f"{account}-lag")
        assert (await acked_balances.balance(account)).available_minor == 12
        assert (await acked_balances.verify(account)).transaction_count == 2


async def test_acks_0_loses_acknowledged_credits_when_a_cluster_master_dies_ahead_of_its_replica(
    cluster_with_replicas,
):
    outcome = await failover_under_load(ClusterTopology(cluster_with_replicas), acks=0)
    assert outcome.acknowledged_count > 0
    assert outcome.lost > 0  # the loss window is real, so the acks=1 test below can fail


async def test_acks_1_loses_no_acknowledged_mutation_across_a_cluster_failover(cluster_with_replicas):
    outcome = await failover_under_load(ClusterTopology(cluster_with_replicas), acks=1)
    assert outcome.acknowledged_count > 0
    assert outcome.refusals.get("REPLICATION_UNCONFIRMED", 0) > 0  # the held-back replica was noticed
    assert outcome.lost == 0
    assert outcome.inconsistent_accounts == 0
