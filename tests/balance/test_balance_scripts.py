"""Each Lua script straight against Redis (single and Cluster) through BalanceStore, with no gRPC and no
Ledger checks in front: what it writes, what it replays, and that every refusal writes nothing."""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace

import pytest
from redis.exceptions import ResponseError

from balance_svc.config import Settings
from balance_svc.errors import (
    BalanceLimitExceeded,
    CaptureExceedsHold,
    CurrencyMismatch,
    HoldAlreadyCaptured,
    HoldAlreadyReleased,
    HoldExpired,
    HoldNotFound,
    InsufficientFunds,
)
from balance_svc.model import MAX_BALANCE_MINOR, HoldStatus, Move, Reason, Receipt, TransactionType
from balance_svc.store import BalanceStore, Stamp
from svckit.errors import RequestIdReused, ServiceError
from svckit.redis_client import connect
from tests.balance.support import node_clients, raw_client
from tests.conftest import base_settings

NOW = 1_800_000_000_000
TOP_UP, USAGE = int(Reason.TOP_UP), int(Reason.USAGE)
_fingerprints = itertools.count(1)


def fresh(now_ms: int = NOW) -> Stamp:
    """A stamp whose fingerprint no other request has (32 hex characters, as the Ledger's are)."""
    return Stamp(now_ms, f"{next(_fingerprints):032x}")


@dataclass
class Scripts:
    """The store over a clean Redis, with short calls for the tests below."""

    store: BalanceStore
    redis: dict[str, str]

    async def credit(self, amount: int, rid: str, currency: str = "", stamp: Stamp | None = None) -> Receipt:
        return await self.store.credit("acct", rid, stamp or fresh(), Move(amount, currency, TOP_UP, "r"))

    async def debit(self, amount: int, rid: str, currency: str = "", stamp: Stamp | None = None) -> Receipt:
        return await self.store.debit("acct", rid, stamp or fresh(), Move(amount, currency, USAGE, "r"))

    async def hold(self, amount: int, rid: str, timeout_ms: int = 1_000, now_ms: int = NOW) -> Receipt:
        return await self.store.create_hold(
            "acct",
            rid,
            fresh(now_ms),
            amount_minor=amount,
            currency="",
            reference="cart",
            timeout_ms=timeout_ms,
        )

    async def capture(self, hold_id: str, amount: int, rid: str, now_ms: int = NOW) -> Receipt:
        return await self.store.capture_hold(
            "acct", rid, fresh(now_ms), hold_id=hold_id, amount_minor=amount, reason=USAGE
        )

    async def release(self, hold_id: str, rid: str, now_ms: int = NOW) -> Receipt:
        return await self.store.release_hold("acct", rid, fresh(now_ms), hold_id=hold_id)

    async def threshold(self, threshold: int, rid: str, stamp: Stamp | None = None) -> Receipt:
        return await self.store.set_low_balance_threshold(
            "acct", rid, stamp or fresh(), threshold_minor=threshold
        )

    def keyspace(self) -> dict[bytes, bytes]:
        """Every key's serialized value, on every node."""
        state = {}
        for client in node_clients(self.redis):
            with client:
                state.update({key: client.dump(key) for key in client.scan_iter()})
        return state


@pytest.fixture
async def scripts(any_redis) -> Scripts:
    settings = Settings(**base_settings(**any_redis))
    redis = connect(settings)
    yield Scripts(BalanceStore(redis, settings), any_redis)
    await redis.aclose()


async def test_credit_fixes_the_currency_appends_an_entry_and_replays_its_first_reply(scripts):
    first = await scripts.credit(700, "c1", currency="EUR", stamp=Stamp(NOW, "a" * 32))
    assert (first.balance.balance_minor, first.balance.currency, first.hold) == (700, "EUR", None)
    entry = first.transaction
    assert (entry.seq, entry.type, entry.reason, entry.amount_minor) == (
        1,
        TransactionType.CREDIT,
        Reason.TOP_UP,
        700,
    )
    assert (entry.balance_after_minor, entry.create_time_ms, entry.reference) == (700, NOW, "r")
    again = await scripts.credit(700, "c1", currency="EUR", stamp=Stamp(NOW + 5_000, "a" * 32))
    assert (again.replayed, first.replayed) == (True, False)
    assert replace(again, replayed=False) == first
    assert (await scripts.store.balance("acct", NOW)).logged == 1


async def test_debit_takes_from_available_and_capture_and_release_resolve_their_hold(scripts):
    await scripts.credit(1_000, "c1")
    assert (await scripts.debit(100, "d1")).balance.balance_minor == 900
    held = await scripts.hold(300, "h1", timeout_ms=60_000)
    assert (held.balance.held_minor, held.hold.status, held.hold.expire_time_ms) == (
        300,
        HoldStatus.PENDING,
        NOW + 60_000,
    )
    captured = await scripts.capture("h1", 200, "cap1")
    assert (captured.balance.balance_minor, captured.balance.held_minor) == (700, 0)
    assert (captured.hold.status, captured.hold.captured_minor) == (HoldStatus.CAPTURED, 200)
    await scripts.hold(50, "h2", timeout_ms=60_000)
    released = await scripts.release("h2", "rel1")
    assert (released.balance.balance_minor, released.balance.held_minor) == (700, 0)
    assert released.hold.status == HoldStatus.RELEASED
    read = await scripts.store.balance("acct", NOW)
    assert (read.balance.available_minor, read.counted, read.logged) == (700, 6, 6)
    entries = await scripts.store.newest_entries("acct", None, 3)
    assert [(e.seq, e.type) for e in entries] == [
        (6, TransactionType.HOLD_RELEASED),
        (5, TransactionType.HOLD_CREATED),
        (4, TransactionType.HOLD_CAPTURED),
    ]
    assert [e.seq for e in await scripts.store.newest_entries("acct", 2, 5)] == [2, 1]


async def test_a_threshold_change_writes_no_entry_and_reports_the_account(scripts):
    receipt = await scripts.threshold(500, "t1")
    assert (receipt.transaction, receipt.balance.threshold_minor, receipt.balance.currency) == (
        None,
        500,
        "USD",
    )
    assert (await scripts.store.balance("acct", NOW)).logged == 0


async def test_a_lapsed_hold_stops_counting_at_its_expiry_and_leaves_the_indexes_on_the_next_write(scripts):
    await scripts.credit(1_000, "c1")
    await scripts.hold(600, "h1", timeout_ms=1_000)
    assert (await scripts.store.balance("acct", NOW + 999)).balance.held_minor == 600
    assert (await scripts.store.balance("acct", NOW + 1_000)).balance.held_minor == 0
    await scripts.debit(1, "d1", stamp=fresh(NOW + 1_000))
    assert not any(b":pending" in key or b":expiry" in key for key in scripts.keyspace())


async def test_one_crossing_signals_once_and_a_lapsed_hold_re_arms_it(scripts):
    await scripts.credit(1_000, "c1")
    await scripts.threshold(500, "t1")
    assert (await scripts.hold(600, "h1")).low_balance is None  # a hold spends nothing
    crossing = (await scripts.debit(100, "d1")).low_balance
    assert (crossing.transaction_id, crossing.available_minor, crossing.threshold_minor) == ("tx_3", 300, 500)
    assert (await scripts.debit(10, "d2")).low_balance is None
    later = NOW + 1_000  # the hold lapses: available 890, with nothing written
    again = (await scripts.debit(500, "d3", stamp=fresh(later))).low_balance
    assert (again.transaction_id, again.available_minor) == ("tx_5", 390)


Setup = Callable[[Scripts], Awaitable[object]]
Call = Callable[[Scripts], Awaitable[Receipt]]


async def _account(s: Scripts) -> None:
    await s.credit(100, "c0")


async def _holds(s: Scripts) -> None:
    await s.credit(100, "c0")
    await s.hold(10, "lapsing", timeout_ms=1_000)
    await s.hold(10, "open", timeout_ms=60_000)
    await s.hold(10, "captured", timeout_ms=60_000)
    await s.capture("captured", 10, "cap0")
    await s.hold(10, "released", timeout_ms=60_000)
    await s.release("released", "rel0")


async def _hold_without_its_request_record(s: Scripts) -> None:
    await s.credit(100, "c0")
    await s.hold(10, "h", timeout_ms=60_000)
    with raw_client(s.redis) as client:
        client.delete("bal:{acct}:req:h")  # expired before the hold did


REFUSALS: list[tuple[str, Setup, Call, type[ServiceError], dict[str, str]]] = [
    (
        "credit, other currency",
        _account,
        lambda s: s.credit(1, "x", currency="EUR"),
        CurrencyMismatch,
        {"account_currency": "USD"},
    ),
    (
        "credit, past the limit",
        _account,
        lambda s: s.credit(MAX_BALANCE_MINOR - 99, "x"),
        BalanceLimitExceeded,
        {"max_balance_minor": str(MAX_BALANCE_MINOR)},
    ),
    ("credit, id reused", _account, lambda s: s.credit(100, "c0"), RequestIdReused, {}),
    ("debit, too much", _account, lambda s: s.debit(101, "x"), InsufficientFunds, {"available_minor": "100"}),
    (
        "debit, other currency",
        _account,
        lambda s: s.debit(1, "x", currency="EUR"),
        CurrencyMismatch,
        {"account_currency": "USD"},
    ),
    ("debit, id reused", _account, lambda s: s.debit(1, "c0"), RequestIdReused, {}),
    (
        "hold, more than available",
        _holds,
        lambda s: s.hold(71, "x", now_ms=NOW + 1),
        InsufficientFunds,
        {"available_minor": "70"},
    ),
    ("hold, id reused", _holds, lambda s: s.hold(1, "open"), RequestIdReused, {}),
    (
        "hold, id of a live hold",
        _hold_without_its_request_record,
        lambda s: s.hold(1, "h"),
        RequestIdReused,
        {},
    ),
    ("capture, no hold", _holds, lambda s: s.capture("nope", 1, "x"), HoldNotFound, {}),
    ("capture, lapsed", _holds, lambda s: s.capture("lapsing", 1, "x", now_ms=NOW + 1_000), HoldExpired, {}),
    ("capture, captured", _holds, lambda s: s.capture("captured", 1, "x"), HoldAlreadyCaptured, {}),
    ("capture, released", _holds, lambda s: s.capture("released", 1, "x"), HoldAlreadyReleased, {}),
    (
        "capture, more than held",
        _holds,
        lambda s: s.capture("open", 11, "x"),
        CaptureExceedsHold,
        {"held_minor": "10"},
    ),
    ("capture, id reused", _holds, lambda s: s.capture("open", 1, "cap0"), RequestIdReused, {}),
    ("release, no hold", _holds, lambda s: s.release("nope", "x"), HoldNotFound, {}),
    ("release, lapsed", _holds, lambda s: s.release("lapsing", "x", now_ms=NOW + 1_000), HoldExpired, {}),
    ("release, captured", _holds, lambda s: s.release("captured", "x"), HoldAlreadyCaptured, {}),
    ("release, released", _holds, lambda s: s.release("released", "x"), HoldAlreadyReleased, {}),
    ("release, id reused", _holds, lambda s: s.release("open", "rel0"), RequestIdReused, {}),
    ("threshold, id reused", _account, lambda s: s.threshold(5, "c0"), RequestIdReused, {}),
]


@pytest.mark.parametrize(
    "setup, call, error, metadata", [r[1:] for r in REFUSALS], ids=[r[0] for r in REFUSALS]
)
async def test_each_refusal_is_named_and_writes_nothing(scripts, setup, call, error, metadata):
    await setup(scripts)
    before = scripts.keyspace()
    with pytest.raises(error) as refused:
        await call(scripts)
    assert type(refused.value) is error
    assert refused.value.metadata == metadata
    assert scripts.keyspace() == before


async def test_a_malformed_argument_fails_before_any_write(scripts):
    await scripts.credit(100, "c0")
    before = scripts.keyspace()
    with pytest.raises(ResponseError, match="amount must be an integer"):
        await scripts.store.debit("acct", "x", fresh(), Move("lots", "", USAGE, ""))
    assert scripts.keyspace() == before
