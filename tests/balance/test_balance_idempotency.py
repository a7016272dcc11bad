"""request_id (AIP-155): a repeat replays the first response byte for byte; other parameters are refused."""

from __future__ import annotations

import asyncio
import dataclasses

import grpc
from balance.v1 import balance_service_pb2 as pb

from balance_svc.ledger import _move_params
from balance_svc.model import Move, Reason
from tests.balance.support import TOP_UP, raw_client, refused, unique


async def test_same_credit_sent_50_times_concurrently_writes_one_entry(balances):
    account = unique("acct")
    request = pb.CreditRequest(account_id=account, amount_minor=700, reason=TOP_UP, request_id="topup-once")
    replies = await asyncio.gather(*(balances.stub.Credit(request) for _ in range(50)))
    assert len({r.SerializeToString() for r in replies}) == 1
    assert (await balances.balance(account)).balance_minor == 700
    assert len(await balances.transactions(account)) == 1


async def test_replay_returns_the_first_response_even_after_later_changes(balances):
    account = unique("acct")
    first = await balances.credit(account, 100, request_id="first")
    await balances.debit(account, 30)
    balances.clock.advance(60_000)
    again = await balances.credit(account, 100, request_id="first")
    assert again.SerializeToString() == first.SerializeToString()
    assert (await balances.balance(account)).balance_minor == 70


async def test_same_request_id_with_other_parameters_is_refused(balances):
    account = unique("acct")
    await balances.credit(account, 100, request_id="rid")
    for call in (
        balances.credit(account, 101, request_id="rid"),
        balances.credit(account, 100, request_id="rid", reference="other"),
        balances.debit(account, 100, request_id="rid"),
        balances.hold(account, 100, hold_id="rid"),
    ):
        refusal = await refused(call)
        assert (refusal.code, refusal.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "REQUEST_ID_REUSED")
    assert (await balances.balance(account)).balance_minor == 100
    assert len(await balances.transactions(account)) == 1


async def test_request_ids_are_scoped_to_the_account(balances):
    one, two = unique("acct"), unique("acct")
    await balances.credit(one, 10, request_id="shared")
    await balances.credit(two, 20, request_id="shared")
    assert [(await balances.balance(a)).balance_minor for a in (one, two)] == [10, 20]


async def test_a_refused_request_is_not_remembered(balances):
    account = unique("acct")
    assert (await refused(balances.debit(account, 40, request_id="early"))).reason == "INSUFFICIENT_FUNDS"
    await balances.credit(account, 100)
    assert (await balances.debit(account, 40, request_id="early")).balance.balance_minor == 60


async def test_request_records_outlive_stripes_24_hours(balances):
    account = unique("acct")
    await balances.credit(account, 1, request_id="ttl")
    with raw_client(balances.redis) as client:
        ttl_ms = client.pttl(f"bal:{{{account}}}:req:ttl")
    assert 24 * 3_600_000 < ttl_ms <= 7 * 24 * 3_600_000


async def test_script_recognises_the_command_redis_py_resends_after_a_dropped_reply(proxied_balances):
    balances, proxy = proxied_balances
    account = unique("acct")
    await balances.credit(account, 5)
    proxy.commands.clear()
    proxy.drop_reply_containing = b"resent"  # the Credit's reply, whichever connection carries it
    reply = await balances.credit(account, 100, request_id="resent")
    assert proxy.dropped == 1
    assert [c[0].upper() for c in proxy.commands if b"resent" in c] == [b"EVALSHA", b"EVALSHA"]
    assert reply.balance.balance_minor == 105
    assert (await balances.balance(account)).balance_minor == 105
    assert len(await balances.transactions(account)) == 2


async def test_a_request_recorded_by_the_single_mutate_script_still_replays(balances):
    """Records written before the split into one script per verb must replay within their 7-day TTL."""
    old_record = (
        b"8075e80e054f9782acb7b2e13e189dcc"
        b'{"b":{"threshold":"0","balance":"700","currency":"USD","held":"0"},'
        b'"e":"1\\u001f1\\u001f700\\u001f700\\u001f1800000000000\\u001fold-credit\\u001f\\u001f\\u001forder-1",'
        b'"seq":"1"}'
    )  # as mutate.lua stored Credit(700, TOP_UP, reference "order-1") on a new account
    with raw_client(balances.redis) as client:
        client.set("bal:{acct_old}:req:old-credit", old_record, px=60_000)
    reply = await balances.credit("acct_old", 700, request_id="old-credit", reference="order-1")
    assert (reply.transaction.transaction_id, reply.transaction.amount_minor) == ("tx_1", 700)
    assert (reply.balance.balance_minor, reply.transaction.reference) == (700, "order-1")
    assert (await balances.balance("acct_old")).balance_minor == 0  # replayed, not run again
    other = await refused(balances.credit("acct_old", 701, request_id="old-credit", reference="order-1"))
    assert other.reason == "REQUEST_ID_REUSED"


def test_a_moves_fingerprint_covers_every_field_of_the_move_as_stored_before():
    """Request records written before keep replaying: the fingerprint of a move is the one asdict gave."""
    move = Move(amount_minor=250, currency="EUR", reason=int(Reason.PURCHASE), reference="order 7")
    assert _move_params(move) == dataclasses.asdict(move)
