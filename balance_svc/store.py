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

_PREFIX = "bal"


class BalanceStore:
    """Every key of one account shares the hash tag `{account_id}`, so each script runs on one Cluster slot.

    `bal:{A}` account hash, `bal:{A}:log` stream of entries (id `<seq>-0`), `bal:{A}:pending` and
    `bal:{A}:expiry` the pending holds' amounts and expiries, `bal:{A}:hold:<hold_id>` one hold,
    `bal:{A}:req:<request_id>` one request's fingerprint and response.
    """

    def __init__(self, redis: RedisClient, settings: Settings) -> None:
        self._redis = redis
        scripts = register_scripts(redis, "balance_svc")
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

    async def balance(self, account_id: str, now_ms: int) -> tuple[Balance, int]:
        """The account's figures and its log length, from one read."""
        account, _, pending, expiry = _account_keys(account_id)
        balance, held, currency, threshold, log_length = await self._read_balance(
            keys=[account, pending, expiry], args=[now_ms]
        )
        figures = Balance(account_id, _text(currency) or self._default_currency, balance, held, threshold)
        return figures, log_length

    async def hold(self, account_id: str, hold_id: str) -> Hold | None:
        fields = await self._redis.hgetall(_key(account_id, "hold", hold_id))
        return _hold(account_id, {"id": hold_id, **_texts(fields)}) if fields else None

    async def newest_entries(self, account_id: str, newest_seq: int | None, count: int) -> list[Transaction]:
        """Up to `count` log entries, newest first, starting at `newest_seq` (None: the newest)."""
        account, log, _, _ = _account_keys(account_id)
        start = "+" if newest_seq is None else f"{newest_seq}-0"
        currency, entries = await self._list(keys=[account, log], args=[start, count])
        currency = _text(currency) or self._default_currency
        return [
            _entry(account_id, currency, entry_id, dict(zip(f[::2], f[1::2], strict=True)))
            for entry_id, f in entries
        ]

    async def entries(
        self, account_id: str, currency: str, last_seq: int, chunk: int
    ) -> AsyncIterator[Transaction]:
        """Log entries 1..last_seq, oldest first, `chunk` at a time: written entries never change."""
        log = _key(account_id, "log")
        first = 1
        while first <= last_seq:
            page = await self._redis.xrange(log, f"{first}-0", f"{last_seq}-0", count=chunk)
            if not page:
                return
            for entry_id, fields in page:
                yield _entry(account_id, currency, entry_id, fields)
            first = _seq(page[-1][0]) + 1

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
    entry = record.get("t")
    hold = record.get("h")
    return Receipt(
        balance=balance,
        transaction=_transaction(account_id, balance.currency, int(entry["seq"]), entry) if entry else None,
        hold=_hold(account_id, hold) if hold else None,
        crossed_low_balance=record.get("low") == "1",
    )


def _entry(account_id: str, currency: str, entry_id: bytes, fields: Mapping[bytes, bytes]) -> Transaction:
    return _transaction(account_id, currency, _seq(entry_id), _texts(fields))


def _transaction(account_id: str, currency: str, seq: int, f: Mapping[str, str]) -> Transaction:
    return Transaction(
        seq=seq,
        account_id=account_id,
        type=TransactionType(int(f["type"])),
        reason=Reason(int(f["reason"])),
        amount_minor=int(f["amount"]),
        currency=currency,
        balance_after_minor=int(f["after"]),
        reference=f["ref"],
        request_id=f["req"],
        hold_id=f["hold"],
        create_time_ms=int(f["time_ms"]),
        hold_expire_time_ms=int(f["expire_ms"] or 0),
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


def _seq(entry_id: bytes) -> int:
    return int(entry_id.split(b"-", 1)[0])


def _texts(fields: Mapping[bytes, bytes]) -> dict[str, str]:
    return {_text(k): _text(v) for k, v in fields.items()}


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
