"""Scripts reload after SCRIPT FLUSH or a restart, and acknowledged credits survive kill -9."""

from __future__ import annotations

import asyncio

from tests.balance.support import node_clients, unique


async def test_next_call_succeeds_after_script_flush(balances):
    account = unique("acct")
    await balances.credit(account, 100)
    for client in node_clients(balances.redis):
        with client:
            client.script_flush()
    assert (await balances.debit(account, 40)).balance.balance_minor == 60
    assert (await balances.balance(account)).balance_minor == 60
    assert len(await balances.transactions(account)) == 2


async def test_next_call_succeeds_after_a_redis_restart(own_redis, start_balances):
    balances = await start_balances({"redis_url": own_redis.url, "redis_cluster_nodes": ""})
    account = unique("acct")
    await balances.credit(account, 100)
    await asyncio.to_thread(own_redis.restart)
    assert (await balances.debit(account, 30)).balance.balance_minor == 70
    assert (await balances.balance(account)).balance_minor == 70


async def test_acknowledged_credits_survive_kill_9(own_redis, start_balances):
    rounds, credits_per_round = 4, 40
    assert own_redis.appendfsync == "always"
    balances = await start_balances({"redis_url": own_redis.url, "redis_cluster_nodes": ""})
    account = unique("acct")
    for round_no in range(1, rounds + 1):
        replies = await asyncio.gather(*(balances.credit(account, 1) for _ in range(credits_per_round)))
        assert len(replies) == credits_per_round  # every one acknowledged
        own_redis.kill9()
        await asyncio.to_thread(own_redis.start)
        acknowledged = round_no * credits_per_round
        assert (await balances.balance(account)).balance_minor == acknowledged
        report = await balances.verify(account)
        assert report.consistent and report.transaction_count == acknowledged
