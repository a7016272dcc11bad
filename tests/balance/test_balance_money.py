"""Credits and debits: accounts appear on their first credit, debits never overdraw, currency is fixed."""

from __future__ import annotations

import asyncio

import grpc
from balance.v1 import balance_service_pb2 as pb

from balance_svc.model import MAX_BALANCE_MINOR
from tests.balance.support import ADJUSTMENT, refused, unique
from tests.conftest import ADMIN_METADATA


async def test_unknown_account_reads_zero_in_usd(balances):
    balance = await balances.balance(unique("acct"))
    assert (balance.balance_minor, balance.held_minor, balance.available_minor) == (0, 0, 0)
    assert balance.currency == "USD"


async def test_first_credit_creates_the_account_and_logs_the_entry(balances):
    account = unique("acct")
    reply = await balances.credit(account, 1000, request_id="topup-1", reference="order-7")
    entry = reply.transaction
    assert (entry.amount_minor, entry.balance_after_minor, entry.reference, entry.request_id) == (
        1000,
        1000,
        "order-7",
        "topup-1",
    )
    assert entry.create_time.ToMilliseconds() == balances.clock.now_ms()
    assert reply.balance.balance_minor == reply.balance.available_minor == 1000
    assert await balances.balance(account) == reply.balance
    assert [t.transaction_id for t in await balances.transactions(account)] == [entry.transaction_id]


async def test_debit_never_overdraws_under_concurrency(balances):
    account = unique("acct")
    await balances.credit(account, 100)
    results = await asyncio.gather(*(balances.debit(account, 1) for _ in range(500)), return_exceptions=True)
    succeeded = [r for r in results if not isinstance(r, Exception)]
    failed = [r for r in results if isinstance(r, Exception)]
    assert len(succeeded) == 100
    assert {e.code() for e in failed} == {grpc.StatusCode.FAILED_PRECONDITION}
    assert (await balances.balance(account)).balance_minor == 0
    log = await balances.transactions(account)
    assert len(log) == 101
    assert (
        sum(t.amount_minor for t in log if t.type == pb.TRANSACTION_TYPE_CREDIT)
        - sum(t.amount_minor for t in log if t.type == pb.TRANSACTION_TYPE_DEBIT)
        == 0
    )
    assert sorted(r.transaction.balance_after_minor for r in succeeded) == list(range(100))
    assert (await balances.verify(account)).consistent


async def test_insufficient_funds_refuses_and_changes_nothing(balances):
    account = unique("acct")
    await balances.credit(account, 50)
    refusal = await refused(balances.debit(account, 51))
    assert (refusal.code, refusal.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "INSUFFICIENT_FUNDS")
    assert (await balances.balance(account)).balance_minor == 50
    assert len(await balances.transactions(account)) == 1


async def test_debit_on_unknown_account_is_insufficient_funds(balances):
    refusal = await refused(balances.debit(unique("acct"), 1))
    assert refusal.reason == "INSUFFICIENT_FUNDS"


async def test_first_credit_fixes_the_currency(balances):
    account = unique("acct")
    await balances.credit(account, 100, currency="EUR")
    assert (await balances.credit(account, 5)).balance.currency == "EUR"
    for call in (balances.credit(account, 1, currency="USD"), balances.debit(account, 1, currency="USD")):
        assert (await refused(call)).reason == "CURRENCY_MISMATCH"
    reply = await balances.debit(account, 5, currency="EUR")
    assert (reply.balance.balance_minor, reply.transaction.currency) == (100, "EUR")


async def test_credit_beyond_the_balance_limit_is_refused(balances):
    account = unique("acct")
    credits = MAX_BALANCE_MINOR // 10**12
    await asyncio.gather(*(balances.credit(account, 10**12) for _ in range(credits)))
    refusal = await refused(balances.credit(account, 1))
    assert (refusal.code, refusal.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "BALANCE_LIMIT_EXCEEDED")
    assert (await balances.balance(account)).balance_minor == MAX_BALANCE_MINOR
    assert (await balances.verify(account)).consistent


async def test_adjustments_need_the_admin_token(balances):
    account = unique("acct")
    assert (
        await refused(balances.credit(account, 5, reason=ADJUSTMENT))
    ).code == grpc.StatusCode.UNAUTHENTICATED
    assert (await balances.balance(account)).balance_minor == 0
    credit = pb.CreditRequest(account_id=account, amount_minor=5, reason=ADJUSTMENT, request_id=unique("adj"))
    reply = await balances.stub.Credit(credit, metadata=ADMIN_METADATA)
    assert reply.transaction.reason == ADJUSTMENT
    debit = pb.DebitRequest(account_id=account, amount_minor=5, reason=ADJUSTMENT, request_id=unique("adj"))
    wrong = (("authorization", "Bearer wrong"),)
    assert (
        await refused(balances.stub.Debit(debit, metadata=wrong))
    ).code == grpc.StatusCode.PERMISSION_DENIED
    assert (await balances.balance(account)).balance_minor == 5
    assert (await balances.stub.Debit(debit, metadata=ADMIN_METADATA)).balance.balance_minor == 0
