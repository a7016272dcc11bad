"""Each mutation and each balance read is one Redis command: one EVALSHA, one round trip."""

from __future__ import annotations

from balance.v1 import balance_service_pb2 as pb

from tests.balance.support import unique

_HOUSEKEEPING = {b"PING", b"CLIENT", b"HELLO", b"SELECT"}  # connection setup
_HEALTH_PROBE = [b"HGETALL", b"balance:data-epoch"]  # the data-loss guard's, every 0.1 s in tests


def _sent_by_the_call(commands: list[list[bytes]]) -> list[bytes]:
    return [c[0].upper() for c in commands if c[0].upper() not in _HOUSEKEEPING and c != _HEALTH_PROBE]


def _calls(balances, account: str) -> dict:
    hold_1, hold_2 = unique("h"), unique("h")
    return {
        "Credit": lambda: balances.credit(account, 100),
        "Debit": lambda: balances.debit(account, 10),
        "CreateHold": lambda: balances.hold(account, 20, hold_id=hold_1),
        "CaptureHold": lambda: balances.capture(account, hold_1, 5),
        "CreateHold again": lambda: balances.hold(account, 20, hold_id=hold_2),
        "ReleaseHold": lambda: balances.release(account, hold_2),
        "SetLowBalanceThreshold": lambda: balances.stub.SetLowBalanceThreshold(
            pb.SetLowBalanceThresholdRequest(account_id=account, threshold_minor=1, request_id=unique("t"))
        ),
        "GetBalance": lambda: balances.balance(account),
        "ListTransactions": lambda: balances.stub.ListTransactions(
            pb.ListTransactionsRequest(account_id=account)
        ),
    }


async def test_each_mutation_is_one_evalsha(proxied_balances):
    balances, proxy = proxied_balances
    account = unique("acct")
    await balances.credit(account, 10)
    for call in _calls(balances, account).values():
        await call()  # each verb's script loads (SCRIPT LOAD after NOSCRIPT) on its first call only
    for name, call in _calls(balances, account).items():
        proxy.commands.clear()
        await call()
        assert _sent_by_the_call(proxy.commands) == [b"EVALSHA"], name
