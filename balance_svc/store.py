"""The ledger's Redis side: key names, the Lua scripts, and parsing what they return."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping

from balance_svc.config import Settings
from balance_svc.errors import refusal
from balance_svc.events import LowBalanceEvent, publish
from balance_svc.model import (
    MAX_BALANCE_MINOR,
    Balance,
    Hold,
    HoldStatus,
    Reason,
    Receipt,
    Transaction,
    TransactionType,
)
from svckit.redis_client import RedisClient, register_scripts, tagged_key
from svckit.script_pipe import ScriptPipe

_PREFIX = "bal"
_ENTRY_SEPARATOR = "\x1f"


class BalanceStore:
    """Every key of one account shares the hash tag `{account_id}`, so each script runs on one Cluster slot.

    `bal:{A}` account hash, `bal:{A}:log` list of entries (entry n at index n - 1), `bal:{A}:pending` and
    `bal:{A}:expiry` the pending holds' amounts and expiries, `bal:{A}:hold:<hold_id>` one hold,
    `bal:{A}:req:<request_id>` one request's fingerprint and response.
    """

    def __init__(self, redis: RedisClient, settings: Settings, pipe: ScriptPipe | None = None) -> None:
        self._redis = redis
        scripts = register_scripts(redis, "balance_svc", pipe)
        self._mutate, self._read_balance, self._list = (
            scripts["mutate"],
            scripts["read_balance"],
            scripts["list_transactions"],
        )
        self._limits = (
            settings.balance_default_currency,
            MAX_BALANCE_MINOR,
            settings.balance_request_id_ttl_s * 1000,
            settings.balance_hold_retention_s * 1000,
        )
        self._default_currency = settings.balance_default_currency
        self._stream = settings.balance_low_balance_stream
        self._stream_maxlen = settings.balance_low_balance_stream_maxlen

    async def mutate(
        self,
        op: str,
        account_id: str,
        *,
        now_ms: int,
        fingerprint: str,
        request_id: str,
        hold_id: str = "",
        amount_minor: int = 0,
        currency: str = "",
        reason: int = 0,
        reference: str = "",
        timeout_ms: int = 0,
    ) -> Receipt:
        """Runs one mutation script: one round trip; raises the named refusal the script returned."""
        keys = [*_account_keys(account_id), _key(account_id, "req", request_id)]
        if hold_id:
            keys.append(_key(account_id, "hold", hold_id))
        args = (op, now_ms, fingerprint, request_id, hold_id, amount_minor, currency, reason, reference)
        reply = await self._mutate(keys=keys, args=(*args, timeout_ms, *self._limits))
        if isinstance(reply, list):
            words = [_text(w) for w in reply]
            raise refusal(words[0], dict(zip(words[1::2], words[2::2], strict=True)))
        return _receipt(account_id, json.loads(reply))

    async def balance(self, account_id: str, now_ms: int) -> tuple[Balance, int, int]:
        """The account's figures, the entries it counts and the entries in its log, from one read."""
        account, log, pending, expiry = _account_keys(account_id)
        balance, held, currency, threshold, counted, logged = await self._read_balance(
            keys=[account, pending, expiry, log], args=[now_ms]
        )
        figures = Balance(account_id, _text(currency) or self._default_currency, balance, held, threshold)
        return figures, counted, logged

    async def hold(self, account_id: str, hold_id: str) -> Hold | None:
        fields = await self._redis.hgetall(_key(account_id, "hold", hold_id))
        return _hold(account_id, {"id": hold_id, **_texts(fields)}) if fields else None

    async def newest_entries(self, account_id: str, newest_seq: int | None, count: int) -> list[Transaction]:
        """Up to `count` log entries, newest first, starting at `newest_seq` (None: the newest)."""
        account, log, _, _ = _account_keys(account_id)
        currency, newest, entries = await self._list(keys=[account, log], args=[newest_seq or 0, count])
        currency = _text(currency) or self._default_currency
        return [_entry(account_id, currency, newest - i, line) for i, line in enumerate(reversed(entries))]

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

    async def publish(self, event: LowBalanceEvent) -> None:
        await publish(self._redis, self._stream, event, self._stream_maxlen)


def _key(account_id: str, *parts: str) -> str:
    return tagged_key(_PREFIX, account_id, *parts)


def _account_keys(account_id: str) -> tuple[str, str, str, str]:
    return (
        _key(account_id),
        _key(account_id, "log"),
        _key(account_id, "pending"),
        _key(account_id, "expiry"),
    )


def _receipt(account_id: str, record: dict) -> Receipt:
    b = record["b"]
    balance = Balance(account_id, b["currency"], int(b["balance"]), int(b["held"]), int(b["threshold"]))
    entry = record.get("e")
    hold = record.get("h")
    return Receipt(
        balance=balance,
        transaction=_entry(account_id, balance.currency, int(record["seq"]), entry) if entry else None,
        hold=_hold(account_id, hold) if hold else None,
        crossed_low_balance=record.get("low") == "1",
    )


def _entry(account_id: str, currency: str, seq: int, line: bytes | str) -> Transaction:
    """Parses one log entry as mutate.lua writes it; the reference is last, so it may hold anything."""
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


def _texts(fields: Mapping[bytes, bytes]) -> dict[str, str]:
    return {_text(k): _text(v) for k, v in fields.items()}


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
