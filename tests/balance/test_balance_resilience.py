"""Scripts reload after SCRIPT FLUSH or a restart, and acknowledged credits survive kill -9."""

from __future__ import annotations

import asyncio

from devtools.redis_procs import RedisProcess
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


async def test_next_call_succeeds_after_a_redis_restart(tmp_path, start_balances):
    with RedisProcess(tmp_path, appendonly=True) as redis_proc:
        balances = await start_balances({"redis_url": redis_proc.url, "redis_cluster_nodes": ""})
        account = unique("acct")
        await balances.credit(account, 100)
        await asyncio.to_thread(redis_proc.restart)
        assert (await balances.debit(account, 30)).balance.balance_minor == 70
        assert (await balances.balance(account)).balance_minor == 70


async def test_acknowledged_credits_survive_kill_9(tmp_path, start_balances):
    rounds, credits_per_round = 4, 40
    with RedisProcess(tmp_path, appendonly=True, appendfsync="always") as redis_proc:
        balances = await start_balances({"redis_url": redis_proc.url, "redis_cluster_nodes": ""})
        account = unique("acct")
        for round_no in range(1, rounds + 1):
            replies = await asyncio.gather(*(balances.credit(account, 1) for _ in range(credits_per_round)))
            assert len(replies) == credits_per_round  # every one acknowledged
            redis_proc.kill9()
            await asyncio.to_thread(redis_proc.start)
            acknowledged = round_no * credits_per_round
            assert (await balances.balance(account)).balance_minor == acknowledged
            report = await balances.verify(account)
            assert report.consistent and report.transaction_count == acknowledged
