"""The ledger's Redis side: the keys it owns, one Lua script per verb, and decoding what they return."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from random import getrandbits
from typing import Any

from balance_svc.config import Settings
from balance_svc.errors import refusal
from balance_svc.events import publish
from balance_svc.model import (
    MAX_BALANCE_MINOR,
    AccountRead,
    Balance,
    Hold,
    HoldStatus,
    LowBalanceCrossing,
    Move,
    Reason,
    Receipt,
    Transaction,
    TransactionType,
)
from svckit.redis_client import RedisClient, register_scripts, tagged_key
from svckit.script_pipe import ScriptPipe

_PREFIX = "bal"
_ENTRY_SEPARATOR = "\x1f"


@dataclass(frozen=True)
class Stamp:
    """What every mutation carries besides its parameters: the time and what a repeat must match."""

    now_ms: int
    fingerprint: str


class BalanceStore:
    """Every Redis key of the ledger. Each account's keys share the hash tag `{A}` (A the account id), so
    every script runs on one Cluster slot:

    - `bal:{A}` hash, no TTL: balance, held, currency, threshold, low_sent (the signal went out and has not
      re-armed), seq (entries written).
    - `bal:{A}:log` list, no TTL: the entries, entry n at index n - 1, never removed (format: `_entry`).
    - `bal:{A}:pending` hash, no TTL: pending hold id -> amount.
    - `bal:{A}:expiry` sorted set, no TTL: pending hold ids by expiry ms; a lapsed one leaves both
      indexes on the account's next mutation, and is not counted from the moment it lapses.
    - `bal:{A}:hold:<hold_id>` hash: one hold. TTL timeout + BALANCE_HOLD_RETENTION_S, cut to the
      retention when the hold resolves.
    - `bal:{A}:req:<request_id>` string, TTL BALANCE_REQUEST_ID_TTL_S: the request's fingerprint followed
      by its response record (JSON), which replays return byte for byte.

    And one key shared by all accounts, so one consumer group sees every crossing:

    - BALANCE_LOW_BALANCE_STREAM (`balance:low_balance_events`) stream, no hash tag, capped at about
      BALANCE_LOW_BALANCE_STREAM_MAXLEN entries: one LowBalanceEvent per crossing (see events.py).
    """

    def __init__(self, redis: RedisClient, settings: Settings, pipe: ScriptPipe | None = None) -> None:
        self._redis = redis
        self._scripts = register_scripts(redis, "balance_svc", pipe)
        self._default_currency = settings.balance_default_currency
        self._request_ttl_ms = settings.balance_request_id_ttl_s * 1000
        self._hold_retention_ms = settings.balance_hold_retention_s * 1000
        self._stream = settings.balance_low_balance_stream
        self._stream_maxlen = settings.balance_low_balance_stream_maxlen

    async def credit(self, account_id: str, request_id: str, stamp: Stamp, move: Move) -> Receipt:
        args = (*_move_args(move), self._default_currency, MAX_BALANCE_MINOR)
        return await self._mutate("credit", account_id, request_id, stamp, args)

    async def debit(self, account_id: str, request_id: str, stamp: Stamp, move: Move) -> Receipt:
        return await self._mutate("debit", account_id, request_id, stamp, _move_args(move))

    async def create_hold(
        self,
        account_id: str,
        request_id: str,
        stamp: Stamp,
        *,
        amount_minor: int,
        currency: str,
        reference: str,
        timeout_ms: int,
    ) -> Receipt:
        """The request id names the hold."""
        args = (amount_minor, currency, reference, timeout_ms, self._hold_retention_ms)
        hold = _key(account_id, "hold", request_id)
        return await self._mutate("create_hold", account_id, request_id, stamp, args, hold)

    async def capture_hold(
        self,
        account_id: str,
        request_id: str,
        stamp: Stamp,
        *,
        hold_id: str,
        amount_minor: int,
        reason: int,
    ) -> Receipt:
        args = (hold_id, amount_minor, reason, self._hold_retention_ms)
        hold = _key(account_id, "hold", hold_id)
        return await self._mutate("capture_hold", account_id, request_id, stamp, args, hold)

    async def release_hold(self, account_id: str, request_id: str, stamp: Stamp, *, hold_id: str) -> Receipt:
        args = (hold_id, self._hold_retention_ms)
        hold = _key(account_id, "hold", hold_id)
        return await self._mutate("release_hold", account_id, request_id, stamp, args, hold)

    async def set_low_balance_threshold(
        self, account_id: str, request_id: str, stamp: Stamp, *, threshold_minor: int
    ) -> Receipt:
        keys = [_key(account_id), *_hold_index_keys(account_id), _key(account_id, "req", request_id)]
        verb = "set_low_balance_threshold"
        return await self._run(verb, account_id, request_id, keys, stamp, (threshold_minor,))

    async def balance(self, account_id: str, now_ms: int) -> AccountRead:
        """The account's figures and the entries it counts and logs, from one read."""
        keys = [_key(account_id), *_hold_index_keys(account_id), _key(account_id, "log")]
        f = _named(await self._scripts["read_balance"](keys=keys, args=[now_ms]))
        currency = _text(f["currency"]) or self._default_currency
        figures = Balance(account_id, currency, int(f["balance"]), int(f["held"]), int(f["threshold"]))
        return AccountRead(figures, int(f["counted"]), int(f["logged"]))

    async def hold(self, account_id: str, hold_id: str) -> Hold | None:
        fields = await self._redis.hgetall(_key(account_id, "hold", hold_id))
        return _hold(account_id, {"id": hold_id, **_texts(fields)}) if fields else None

    async def newest_entries(self, account_id: str, newest_seq: int | None, count: int) -> list[Transaction]:
        """Up to `count` log entries, newest first, starting at `newest_seq` (None: the newest)."""
        keys = [_key(account_id), _key(account_id, "log")]
        f = _named(await self._scripts["list_transactions"](keys=keys, args=[newest_seq or 0, count]))
        currency, newest = _text(f["currency"]) or self._default_currency, int(f["newest"])
        return [
            _entry(account_id, currency, newest - i, line) for i, line in enumerate(reversed(f["entries"]))
        ]

    async def entries(
        self, account_id: str, currency: str, last_seq: int, chunk: int
    ) -> AsyncIterator[Transaction]:
        """Log entries 1..last_seq, oldest first, `chunk` at a time: written entries never change."""
        log = _key(account_id, "log")
        for first in range(1, last_seq + 1, chunk):
            last = min(first + chunk - 1, last_seq)
            lines = await self._redis.lrange(log, first - 1, last - 1)  # entry n sits at index n - 1
            for seq, line in enumerate(lines, first):
                yield _entry(account_id, currency, seq, line)

    async def publish(self, crossing: LowBalanceCrossing) -> None:
        await publish(self._redis, self._stream, crossing, self._stream_maxlen)

    async def _mutate(
        self,
        verb: str,
        account_id: str,
        request_id: str,
        stamp: Stamp,
        args: Sequence[str | int],
        *hold_key: str,
    ) -> Receipt:
        """A money-moving verb: its keys are every such script's, plus the hold's for a hold verb."""
        keys = [
            _key(account_id),
            _key(account_id, "log"),
            *_hold_index_keys(account_id),
            _key(account_id, "req", request_id),
            *hold_key,
        ]
        return await self._run(verb, account_id, request_id, keys, stamp, args)

    async def _run(
        self,
        verb: str,
        account_id: str,
        request_id: str,
        keys: list[str],
        stamp: Stamp,
        args: Sequence[str | int],
    ) -> Receipt:
        """One EVALSHA; the first five arguments are every mutation script's.

        The call id comes back in the response only if this call committed it, even when a dropped
        connection made the reply the one to a resend: anything else is a replay of an earlier call.
        """
        call_id = f"{getrandbits(32):08x}"  # tells apart the calls of one request; no syscall, unlike urandom
        common = (stamp.now_ms, stamp.fingerprint, request_id, self._request_ttl_ms, call_id)
        reply = await self._scripts[verb](keys=keys, args=(*common, *args))
        return self._receipt(account_id, reply, call_id)

    def _receipt(self, account_id: str, reply: Any, call_id: str) -> Receipt:
        """Decodes every mutation's reply; raises the named refusal the script returned instead."""
        record = json.loads(reply)
        if "refused" in record:
            raise refusal(record["refused"], record["metadata"] or {})
        b = record["b"]
        currency = b["currency"] or self._default_currency
        balance = Balance(account_id, currency, int(b["balance"]), int(b["held"]), int(b["threshold"]))
        entry = record.get("e")
        transaction = _entry(account_id, currency, int(record["seq"]), entry) if entry else None
        hold = record.get("h")
        return Receipt(
            balance=balance,
            transaction=transaction,
            hold=_hold(account_id, hold) if hold else None,
            low_balance=_crossing(balance, transaction) if record.get("low") == "1" else None,
            replayed=record.get("c") != call_id,  # records from before call ids have none
        )


def _crossing(balance: Balance, transaction: Transaction | None) -> LowBalanceCrossing:
    if transaction is None:  # only debits and captures cross, and both write an entry
        raise ValueError("a script reported a low-balance crossing without the entry that made it")
    return LowBalanceCrossing(
        balance.account_id,
        transaction.transaction_id,
        balance.currency,
        balance.available_minor,
        balance.threshold_minor,
    )


def _move_args(move: Move) -> tuple[int, str, int, str]:
    return move.amount_minor, move.currency, move.reason, move.reference


def _key(account_id: str, *parts: str) -> str:
    return tagged_key(_PREFIX, account_id, *parts)


def _hold_index_keys(account_id: str) -> tuple[str, str]:
    return _key(account_id, "pending"), _key(account_id, "expiry")


def _named(reply: Any) -> dict[str, Any]:
    """A script's flat name/value list as a dict (script replies are untyped)."""
    return {_text(name): value for name, value in zip(reply[::2], reply[1::2], strict=True)}


def _entry(account_id: str, currency: str, seq: int, line: bytes | str) -> Transaction:
    """Parses one log entry as the scripts write it; the reference is last, so it may hold anything."""
    kind, reason, amount, after, time_ms, request_id, hold_id, expire_ms, reference = _text(line).split(
        _ENTRY_SEPARATOR, 8
    )
    return Transaction(
        seq=seq,
        account_id=account_id,
        type=TransactionType(int(kind)),
        reason=Reason(int(reason)),
        amount_minor=int(amount),
        currency=currency,
        balance_after_minor=int(after),
        reference=reference,
        request_id=request_id,
        hold_id=hold_id,
        create_time_ms=int(time_ms),
        hold_expire_time_ms=int(expire_ms or 0),
    )


def _hold(account_id: str, f: Mapping[str, str]) -> Hold:
    return Hold(
        hold_id=f["id"],
        account_id=account_id,
        amount_minor=int(f["amount"]),
        currency=f["currency"],
        status=HoldStatus(int(f["status"])),
        captured_minor=int(f["captured"]),
        reference=f["ref"],
        create_time_ms=int(f["create_ms"]),
        expire_time_ms=int(f["expire_ms"]),
    )


def _texts(fields: Mapping[bytes | str, bytes | str]) -> dict[str, str]:
    return {_text(k): _text(v) for k, v in fields.items()}


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
