"""Each mutation and each balance read is one Redis command: one EVALSHA, one round trip."""

from __future__ import annotations

from balance.v1 import balance_service_pb2 as pb

from tests.balance.support import unique

_HOUSEKEEPING = {b"PING", b"CLIENT", b"HELLO", b"SELECT"}  # health probe and connection setup


async def test_each_mutation_is_one_evalsha(proxied_balances):
    balances, proxy = proxied_balances
    account = unique("acct")
    await balances.credit(account, 10)  # loads the scripts once
    await balances.balance(account)
    calls = {
        "Credit": lambda: balances.credit(account, 100),
        "Debit": lambda: balances.debit(account, 10),
        "CreateHold": lambda: balances.hold(account, 20, hold_id="h1"),
        "CaptureHold": lambda: balances.capture(account, "h1", 5),
        "CreateHold again": lambda: balances.hold(account, 20, hold_id="h2"),
        "ReleaseHold": lambda: balances.release(account, "h2"),
        "SetLowBalanceThreshold": lambda: balances.stub.SetLowBalanceThreshold(
            pb.SetLowBalanceThresholdRequest(account_id=account, threshold_minor=1, request_id=unique("t"))
        ),
        "GetBalance": lambda: balances.balance(account),
    }
    for name, call in calls.items():
        proxy.commands.clear()
        await call()
        sent = [c[0].upper() for c in proxy.commands if c[0].upper() not in _HOUSEKEEPING]
        assert sent == [b"EVALSHA"], name
