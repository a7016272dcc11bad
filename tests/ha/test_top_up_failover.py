"""Webhooks and orders across a failover: payment_svc, balance_svc and pricing_svc on a real Sentinel group,
the fake Stripe redelivering as Stripe does (until a 2xx, and at least once)."""

from __future__ import annotations

import asyncio

from payment.v1 import payment_service_pb2 as pb

from devtools.redis_procs import SentinelGroup
from tests.payment.support import Stack, payload_of


def _sentinel_redis(group: SentinelGroup, acks: int) -> dict:
    return {
        "redis_url": "",
        "redis_cluster_nodes": "",
        "redis_sentinels": group.sentinel_addrs,
        "redis_sentinel_master": group.master_name,
        "redis_min_replica_acks": acks,
        "redis_replica_ack_timeout_ms": 300,
    }


async def _deliver_then_fail_over(stack: Stack, group: SentinelGroup, event: dict) -> int:
    """Stripe delivers `event` while the replica is held back; the primary is killed -9 and Sentinel
    promotes the replica, which lacks every write since the hold. Returns the delivery's HTTP status."""
    await asyncio.to_thread(group.hold_back_replica)
    status, _ = await stack.post(payload_of(event))
    victim = group.primary()
    victim.kill9()
    await asyncio.to_thread(group.wait_for_new_primary, victim)
    await asyncio.to_thread(group.release_replica)
    await asyncio.to_thread(group.restart_as_replica, victim)  # acks=1 needs a replica again
    await asyncio.to_thread(group.wait_until_replicated)
    return status


async def test_a_top_up_fulfilled_across_a_failover_credits_exactly_once(sentinel_group, start_stack):
    stack = await start_stack(_sentinel_redis(sentinel_group, acks=1))
    account, order_id, completed = await stack.completed_top_up()

    status = await _deliver_then_fail_over(stack, sentinel_group, completed)
    assert status == 503  # not acknowledged to Stripe: its replica never confirmed the fulfilment
    first = await stack.redeliver_until_accepted(completed)  # Stripe retries until a 2xx
    again = await stack.deliver(completed)  # and may deliver once more: at least once
    assert (first["outcome"], again["duplicate"]) == ("fulfilled", True)

    (credit,) = await stack.credits_of(account)
    assert (credit.request_id, credit.amount_minor) == (f"topup-{order_id}", 1000)
    assert await stack.balance_of(account) == 1000
    assert (await stack.order(order_id)).status == pb.ORDER_STATUS_FULFILLED


async def test_with_acks_0_a_top_up_acknowledged_to_stripe_is_lost_in_the_same_failover(
    sentinel_group, start_stack
):
    """The loss window above is real: without acks Stripe gets a 2xx, stops, and the credit is lost."""
    stack = await start_stack(_sentinel_redis(sentinel_group, acks=0))
    account, order_id, completed = await stack.completed_top_up()

    assert await _deliver_then_fail_over(stack, sentinel_group, completed) == 200
    assert await stack.credits_of(account) == []
    assert (await stack.order(order_id)).status == pb.ORDER_STATUS_PENDING
