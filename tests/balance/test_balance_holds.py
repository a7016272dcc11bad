"""Holds reserve part of the available balance, resolve at most once, and expire on their own."""

from __future__ import annotations

import grpc
from balance.v1 import balance_service_pb2 as pb

from tests.balance.support import refused, unique


async def test_hold_reserves_available_but_not_balance(balances):
    account = unique("acct")
    await balances.credit(account, 100)
    reply = await balances.hold(account, 60, hold_id="h1", reference="cart-9")
    assert (reply.balance.balance_minor, reply.balance.held_minor, reply.balance.available_minor) == (
        100,
        60,
        40,
    )
    assert (reply.hold.status, reply.hold.amount_minor, reply.hold.reference) == (
        pb.HOLD_STATUS_PENDING,
        60,
        "cart-9",
    )
    assert (await refused(balances.debit(account, 41))).reason == "INSUFFICIENT_FUNDS"
    assert (await refused(balances.hold(account, 41))).reason == "INSUFFICIENT_FUNDS"
    assert (await balances.debit(account, 40)).balance.available_minor == 0


async def test_partial_capture_debits_the_captured_part_and_releases_the_rest(balances):
    account = unique("acct")
    await balances.credit(account, 100)
    await balances.hold(account, 60, hold_id="h1")
    reply = await balances.capture(account, "h1", 25)
    assert (reply.hold.status, reply.hold.captured_minor) == (pb.HOLD_STATUS_CAPTURED, 25)
    assert (reply.balance.balance_minor, reply.balance.held_minor, reply.balance.available_minor) == (
        75,
        0,
        75,
    )
    entry = reply.transaction
    assert (entry.type, entry.amount_minor, entry.balance_after_minor, entry.hold_id) == (
        pb.TRANSACTION_TYPE_HOLD_CAPTURED,
        25,
        75,
        "h1",
    )
    assert (await balances.verify(account)).consistent


async def test_release_gives_the_whole_hold_back(balances):
    account = unique("acct")
    await balances.credit(account, 100)
    await balances.hold(account, 60, hold_id="h1")
    reply = await balances.release(account, "h1")
    assert reply.hold.status == pb.HOLD_STATUS_RELEASED
    assert (reply.balance.balance_minor, reply.balance.available_minor) == (100, 100)
    types = [t.type for t in await balances.transactions(account)]
    assert types == [
        pb.TRANSACTION_TYPE_HOLD_RELEASED,
        pb.TRANSACTION_TYPE_HOLD_CREATED,
        pb.TRANSACTION_TYPE_CREDIT,
    ]


async def test_hold_resolves_at_most_once(balances):
    account = unique("acct")
    await balances.credit(account, 100)
    await balances.hold(account, 30, hold_id="captured")
    await balances.hold(account, 30, hold_id="released")
    await balances.capture(account, "captured", 30)
    await balances.release(account, "released")
    for call, reason in (
        (balances.capture(account, "captured", 1), "HOLD_ALREADY_CAPTURED"),
        (balances.release(account, "captured"), "HOLD_ALREADY_CAPTURED"),
        (balances.capture(account, "released", 1), "HOLD_ALREADY_RELEASED"),
        (balances.release(account, "released"), "HOLD_ALREADY_RELEASED"),
    ):
        refusal = await refused(call)
        assert (refusal.code, refusal.reason) == (grpc.StatusCode.FAILED_PRECONDITION, reason)
    assert (await balances.balance(account)).balance_minor == 70
    assert len(await balances.transactions(account)) == 5


async def test_capture_above_the_held_amount_is_refused(balances):
    account = unique("acct")
    await balances.credit(account, 100)
    await balances.hold(account, 30, hold_id="h1")
    assert (await refused(balances.capture(account, "h1", 31))).reason == "CAPTURE_EXCEEDS_HOLD"
    assert (await balances.capture(account, "h1", 30)).balance.balance_minor == 70


async def test_unknown_hold_is_not_found(balances):
    account = unique("acct")
    await balances.credit(account, 100)
    for call in (
        balances.capture(account, "nope", 1),
        balances.release(account, "nope"),
        balances.stub.GetHold(pb.GetHoldRequest(account_id=account, hold_id="nope")),
    ):
        refusal = await refused(call)
        assert (refusal.code, refusal.reason) == (grpc.StatusCode.NOT_FOUND, "HOLD_NOT_FOUND")


async def test_expired_hold_frees_its_amount_before_any_sweep(balances):
    account = unique("acct")
    await balances.credit(account, 100)
    await balances.hold(account, 60, hold_id="h1", timeout_ms=5_000)
    balances.clock.advance(4_999)
    assert (await balances.balance(account)).available_minor == 40
    balances.clock.advance(1)
    balance = await balances.balance(account)
    assert (balance.balance_minor, balance.held_minor, balance.available_minor) == (100, 0, 100)
    hold = (await balances.stub.GetHold(pb.GetHoldRequest(account_id=account, hold_id="h1"))).hold
    assert hold.status == pb.HOLD_STATUS_EXPIRED
    assert (await balances.verify(account)).consistent
    assert (await balances.debit(account, 100)).balance.available_minor == 0


async def test_capture_or_release_after_expiry_fails_as_hold_expired(balances):
    account = unique("acct")
    await balances.credit(account, 100)
    await balances.hold(account, 60, hold_id="h1", timeout_ms=1_000)
    balances.clock.advance(1_000)
    for call in (balances.capture(account, "h1", 10), balances.release(account, "h1")):
        refusal = await refused(call)
        assert (refusal.code, refusal.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "HOLD_EXPIRED")
    await balances.credit(account, 1)  # sweeps the expired hold
    assert (await refused(balances.capture(account, "h1", 10))).reason == "HOLD_EXPIRED"
    balance = await balances.balance(account)
    assert (balance.balance_minor, balance.held_minor) == (101, 0)
    assert (await balances.verify(account)).consistent


async def test_hold_replay_returns_the_original_hold(balances):
    account = unique("acct")
    await balances.credit(account, 100)
    first = await balances.hold(account, 60, hold_id="h1", timeout_ms=1_000)
    balances.clock.advance(2_000)
    again = await balances.hold(account, 60, hold_id="h1", timeout_ms=1_000)
    assert again.SerializeToString() == first.SerializeToString()
    assert (await balances.balance(account)).held_minor == 0
