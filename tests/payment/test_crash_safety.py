"""Outages and crashes mid-fulfilment: payment_svc answers 5xx so Stripe retries; the retry credits once."""

from __future__ import annotations

import asyncio

from payment.v1 import payment_service_pb2 as pb

from devtools.redis_procs import RedisProcess
from tests.payment.support import payload_of


async def test_balance_down_answers_503_and_the_retry_credits_once(start_stack, single_redis):
    stack = await start_stack(single_redis, balance_proxy=True)
    account, order_id, completed = await stack.completed_top_up()
    stack.balance_proxy.refuse()
    status, body = await stack.post(payload_of(completed))
    assert (status, body["error"]["reason"]) == (503, "UNAVAILABLE")
    assert (await stack.order(order_id)).status == pb.ORDER_STATUS_PAID
    assert await stack.balance_of(account) == 0
    stack.balance_proxy.allow()
    body = await stack.redeliver_until_accepted(completed)
    assert (body["duplicate"], body["outcome"]) == (False, "fulfilled")  # nothing had been recorded
    assert await stack.balance_of(account) == 1000
    assert len(await stack.credits_of(account)) == 1
    assert (await stack.order(order_id)).status == pb.ORDER_STATUS_FULFILLED


async def test_crash_after_the_credit_before_the_dedupe_record_credits_once(
    start_stack, single_redis, tmp_path
):
    with RedisProcess(tmp_path, appendonly=True, appendfsync="always") as own_redis:
        stack = await start_stack(
            single_redis,
            balance_proxy=True,
            payment_redis={"redis_url": own_redis.url, "redis_cluster_nodes": ""},
        )
        account, order_id, completed = await stack.completed_top_up()
        stack.balance_proxy.hold()
        delivery = asyncio.create_task(stack.post(payload_of(completed)))
        await stack.balance_proxy.wait_held()  # the Credit is on its way to balance_svc
        own_redis.kill9()  # payment_svc loses its Redis before it can record anything more
        stack.balance_proxy.release()
        status, _ = await delivery
        assert status == 503
        assert await stack.balance_of(account) == 1000  # the credit itself went through
        own_redis.start()
        body = await stack.redeliver_until_accepted(completed)
        assert (body["duplicate"], body["outcome"]) == (False, "fulfilled")
        assert await stack.balance_of(account) == 1000
        assert len(await stack.credits_of(account)) == 1
        assert (await stack.order(order_id)).status == pb.ORDER_STATUS_FULFILLED
