"""ListTransactions pages the log newest first; VerifyAccount recomputes it and reports what disagrees."""

from __future__ import annotations

import asyncio

import grpc
from balance.v1 import balance_service_pb2 as pb

from tests.balance.support import raw_client, refused, unique


async def test_transactions_page_newest_first_without_gaps_or_repeats(balances):
    account = unique("acct")
    for amount in range(1, 8):
        await balances.credit(account, amount)
    seen, token, pages = [], "", 0
    while True:
        page = await balances.stub.ListTransactions(
            pb.ListTransactionsRequest(account_id=account, page_size=3, page_token=token)
        )
        pages += 1
        seen += [t.amount_minor for t in page.transactions]
        token = page.next_page_token
        if not token:
            break
        await balances.credit(account, 100)  # new entries never shift later pages
    assert seen == [7, 6, 5, 4, 3, 2, 1]
    assert pages == 3


async def test_default_page_is_fifty(balances):
    account = unique("acct")
    for _ in range(51):
        await balances.credit(account, 1)
    page = await balances.stub.ListTransactions(pb.ListTransactionsRequest(account_id=account))
    assert len(page.transactions) == 50
    assert page.next_page_token


async def test_unknown_account_has_an_empty_log_and_verifies_clean(balances):
    account = unique("acct")
    assert await balances.transactions(account) == []
    report = await balances.verify(account)
    assert report.consistent and report.transaction_count == 0


async def test_a_page_size_above_the_maximum_is_read_as_the_maximum(single_balances):
    account = unique("acct")
    await asyncio.gather(*(single_balances.credit(account, 1) for _ in range(501)))
    page = await single_balances.stub.ListTransactions(
        pb.ListTransactionsRequest(account_id=account, page_size=10_000)
    )
    assert len(page.transactions) == 500
    rest = await single_balances.stub.ListTransactions(
        pb.ListTransactionsRequest(account_id=account, page_size=10_000, page_token=page.next_page_token)
    )
    assert [t.transaction_id for t in rest.transactions] == ["tx_1"]
    assert rest.next_page_token == ""


async def test_bad_page_size_or_token_is_invalid(balances):
    for request, field in (
        (pb.ListTransactionsRequest(account_id="a", page_size=-1), "page_size"),
        (pb.ListTransactionsRequest(account_id="a", page_token="not-a-token"), "page_token"),
        (pb.ListTransactionsRequest(account_id="a", page_token="dHg6MA=="), "page_token"),  # "tx:0"
        (pb.ListTransactionsRequest(account_id="a", page_token="dHg6LTE="), "page_token"),  # "tx:-1"
        (pb.ListTransactionsRequest(account_id="a", page_token="eHg6NQ=="), "page_token"),  # "xx:5"
    ):
        refusal = await refused(balances.stub.ListTransactions(request))
        assert refusal.code == grpc.StatusCode.INVALID_ARGUMENT
        assert field in refusal.violations


async def test_verify_reports_a_stored_balance_that_disagrees_with_the_log(balances):
    account = unique("acct")
    await balances.credit(account, 100)
    await balances.hold(account, 30)
    await balances.debit(account, 20)
    report = await balances.verify(account)
    assert (report.consistent, report.balance_minor, report.computed_balance_minor) == (True, 80, 80)
    assert (report.held_minor, report.computed_held_minor, report.transaction_count) == (30, 30, 3)
    with raw_client(balances.redis) as client:
        client.hset(f"bal:{{{account}}}", mapping={"balance": 81, "held": 0})
    report = await balances.verify(account)
    assert not report.consistent
    assert (report.balance_minor, report.computed_balance_minor) == (81, 80)
    assert (report.held_minor, report.computed_held_minor) == (0, 30)
    assert len(report.mismatches) == 2


async def test_any_reference_text_round_trips_through_the_log(balances):
    account = unique("acct")
    reference = 'café ☕ | {braces} "quotes" ::' + "x" * 200
    reply = await balances.credit(account, 5, reference=reference)
    assert reply.transaction.reference == reference
    assert [t.reference for t in await balances.transactions(account)] == [reference]
    again = await balances.credit(account, 5, request_id=reply.transaction.request_id, reference=reference)
    assert again == reply
