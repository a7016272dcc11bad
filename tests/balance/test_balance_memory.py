"""Redis memory per account, per log entry, per request record and per hold, measured with MEMORY USAGE.

Run `pytest tests/balance/test_balance_memory.py -s` to see the figures the bounds below guard.
"""

from __future__ import annotations

import asyncio

import redis

from tests.balance.support import unique

ENTRIES = 1_000


def _usage(client: redis.Redis, key: str) -> int:
    return client.memory_usage(key, samples=0) or 0


async def test_memory_per_account_entry_request_and_hold_stays_small(single_balances):
    balances = single_balances
    account = unique("acct")
    tag = f"bal:{{{account}}}"
    await balances.credit(account, 10**9, request_id="first-credit", reference="order-0001")
    with redis.Redis.from_url(balances.redis["redis_url"]) as client:
        account_hash, log_one, request = (
            _usage(client, tag),
            _usage(client, f"{tag}:log"),
            _usage(client, f"{tag}:req:first-credit"),
        )
        for start in range(0, ENTRIES, 100):
            await asyncio.gather(
                *(balances.debit(account, 1, reference=f"order-{n:04d}") for n in range(start, start + 100))
            )
        per_entry = (_usage(client, f"{tag}:log") - log_one) / ENTRIES
        await balances.hold(account, 100, hold_id="hold-1", reference="cart-1")
        hold = _usage(client, f"{tag}:hold:hold-1")
        pending = _usage(client, f"{tag}:pending") + _usage(client, f"{tag}:expiry")
    figures = {
        "account hash": account_hash,
        "log with one entry": log_one,
        "log, per further entry": per_entry,
        "request record (credit)": request,
        "hold hash": hold,
        "pending-hold index (one hold)": pending,
    }
    print("\nRedis MEMORY USAGE, bytes:")
    for name, value in figures.items():
        print(f"  {name:32} {value:8.1f}")
    assert account_hash < 200
    assert log_one < 400  # a list, not a stream: a stream preallocates a 4 KB node per account
    assert per_entry < 80
    assert request < 500
    assert hold < 300
