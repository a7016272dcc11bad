"""Each account's automatic top-up state in Redis: settings, spend cap and lock; one Lua script per verb."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from payment_svc.script_reply import named, text
from svckit.errors import RequestIdReused
from svckit.redis_client import RedisClient, register_scripts, tagged_key
from svckit.replica_acks import acked_writes

DEFAULT_PERIOD_S = 30 * 86400  # the spend cap's period while the account sets none


def _keys(account_id: str, *third: str) -> list[str]:
    """The settings and spend keys every script takes, then the script's own key if any."""
    settings = tagged_key("pay:auto_top_up", account_id)
    return [settings, f"{settings}:spend", *(f"{settings}:{part}" for part in third)]


@dataclass(frozen=True)
class AutoTopUp:
    account_id: str
    enabled: bool
    threshold_minor: int
    blocks: int
    max_spend_minor: int
    period_seconds: int
    spent_in_period_minor: int
    consecutive_failures: int
    disabled_reason: str
    update_ms: int


@dataclass(frozen=True)
class AutoTopUpSettings:
    """What ConfigureAutoTopUp stores."""

    enabled: bool
    threshold_minor: int
    blocks: int
    max_spend_minor: int
    period_seconds: int


class Reservation(StrEnum):
    RESERVED = "reserved"
    DISABLED = "disabled"
    CAP_REACHED = "cap_reached"


class AttemptResult(StrEnum):
    OK = "ok"
    FAILED = "failed"  # counts towards turning it off; nothing was charged
    SKIPPED = "skipped"  # nothing was charged
    RETRY = "retry"  # an outage: the reservation stays for the retry


def _auto_top_up(account_id: str, raw: dict[str, Any]) -> AutoTopUp:
    return AutoTopUp(
        account_id=account_id,
        enabled=raw.get("enabled") == "1",
        threshold_minor=int(raw.get("threshold_minor", 0)),
        blocks=int(raw.get("blocks", 0)),
        max_spend_minor=int(raw.get("max_spend_minor", 0)),
        period_seconds=int(raw.get("period_seconds", 0)),
        spent_in_period_minor=int(raw.get("spent_in_period_minor", 0)),
        consecutive_failures=int(raw.get("consecutive_failures", 0)),
        disabled_reason=raw.get("disabled_reason", ""),
        update_ms=int(raw.get("update_ms", 0)),
    )


class AutoTopUpStore:
    """Keys (all owned here; nothing else builds them). An account's keys share the hash tag `{<account_id>}`,
    so each script runs on one Cluster slot:
    - `pay:auto_top_up:{<account_id>}` hash, no TTL: enabled, threshold_minor, blocks, max_spend_minor,
      period_seconds, consecutive_failures, disabled_reason, update_ms.
    - `pay:auto_top_up:{<account_id>}:spend` sorted set, no TTL: `<order_id>:<amount_minor>` by charge time
      in ms; members older than the period are dropped on the next reservation.
    - `pay:auto_top_up:{<account_id>}:lock` string, TTL AUTO_TOP_UP_LOCK_TTL_S: the order id of the top-up
      running for the account.
    - `pay:auto_top_up:{<account_id>}:request:<request_id>` string, TTL IDEMPOTENCY_TTL_S: a
      ConfigureAutoTopUp request's fingerprint and first answer, for retries.
    """

    def __init__(self, redis: RedisClient, *, request_ttl_s: int, lock_ttl_s: int) -> None:
        self._redis = redis
        self._scripts = register_scripts(redis, "payment_svc")
        self._request_ttl_s = request_ttl_s
        self._lock_ttl_ms = lock_ttl_s * 1000

    async def read(self, account_id: str, now_ms: int) -> AutoTopUp:
        raw = named(
            await self._scripts["read_auto_top_up"](keys=_keys(account_id), args=[now_ms, DEFAULT_PERIOD_S])
        )
        return _auto_top_up(account_id, raw)

    async def configure(
        self, account_id: str, request_id: str, fingerprint: str, s: AutoTopUpSettings, now_ms: int
    ) -> AutoTopUp:
        """Stores the settings once per request_id; raises RequestIdReused for other settings."""
        args: list[str | int] = [
            now_ms,
            DEFAULT_PERIOD_S,
            fingerprint,
            self._request_ttl_s,
            "1" if s.enabled else "0",
            s.threshold_minor,
            s.blocks,
            s.max_spend_minor,
            s.period_seconds,
        ]
        keys = _keys(account_id, f"request:{request_id}")
        raw = named(await self._scripts["configure_auto_top_up"](keys=keys, args=args))
        if raw["outcome"] == "request_id_reused":
            raise RequestIdReused("request_id was already used with different parameters")
        return _auto_top_up(account_id, raw)

    async def lock(self, account_id: str, order_id: str) -> bool:
        """Takes the account's single-flight lock for the top-up `order_id`; True if it holds it now.

        Taken with the replicas' confirmation when acks are on: a lock lost in a failover would let a
        second top-up charge the card at once."""
        key = _keys(account_id, "lock")[2]
        [taken] = await acked_writes(self._redis, ("SET", key, order_id, "NX", "PX", self._lock_ttl_ms))
        if taken:
            return True
        holder = await self._redis.get(key)
        return holder is not None and text(holder) == order_id

    async def reserve(self, account_id: str, order_id: str, amount_minor: int, now_ms: int) -> Reservation:
        """Counts the top-up against the spend cap, once per order."""
        args: list[str | int] = [now_ms, DEFAULT_PERIOD_S, order_id, amount_minor]
        raw = named(await self._scripts["reserve_auto_top_up"](keys=_keys(account_id), args=args))
        return Reservation(raw["outcome"])

    async def finish(
        self,
        account_id: str,
        order_id: str,
        result: AttemptResult,
        reason: str,
        max_failures: int,
        now_ms: int,
    ) -> None:
        """Records how the attempt ended and frees the lock if the attempt still holds it."""
        args: list[str | int] = [now_ms, order_id, result.value, reason, max_failures]
        await self._scripts["finish_auto_top_up"](keys=_keys(account_id, "lock"), args=args)
