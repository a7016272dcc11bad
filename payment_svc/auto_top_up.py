"""Automatic top-up: its settings, and charging the saved card when balance_svc reports a low balance."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

from balance.v1.low_balance_event_pb2 import LowBalanceEvent

from payment_svc.checks import check_blocks
from payment_svc.config import Settings
from payment_svc.orders import Status, fingerprint, order_id_for
from payment_svc.peers import BalanceClient
from payment_svc.saved_card import SavedCardTopUps
from svckit.clock import Clock
from svckit.errors import RequestIdReused, ServiceError, Unavailable, Violations
from svckit.redis_client import RedisClient, register_scripts, tagged_key
from svckit.validation import MAX_AMOUNT_MINOR, check_account_id, check_request_id

log = logging.getLogger(__name__)

DEFAULT_PERIOD_S = 30 * 86400
MIN_PERIOD_S = 3600
MAX_PERIOD_S = 90 * 86400


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
class AutoTopUpChange:
    account_id: str
    enabled: bool
    threshold_minor: int
    blocks: int
    max_spend_minor: int
    period_seconds: int
    request_id: str


def _keys(account_id: str, third: str) -> list[str]:
    return [
        tagged_key("pay", account_id, "auto"),
        tagged_key("pay", account_id, "auto", "spend"),
        tagged_key("pay", account_id, "auto", third),
    ]


def _parse(account_id: str, snapshot: str) -> AutoTopUp:
    raw = json.loads(snapshot)
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


class AutoTopUps:
    def __init__(
        self,
        *,
        settings: Settings,
        redis: RedisClient,
        balance: BalanceClient,
        saved_card: SavedCardTopUps,
        clock: Clock,
    ) -> None:
        self._settings = settings
        self._redis = redis
        self._balance = balance
        self._saved_card = saved_card
        self._clock = clock
        self._script = register_scripts(redis, "payment_svc")["auto_top_up"]

    async def configure(self, c: AutoTopUpChange) -> AutoTopUp:
        """Stores the settings and sets balance_svc's low-balance threshold to match (0 when off)."""
        v = Violations()
        check_account_id(v, c.account_id)
        check_request_id(v, c.request_id)
        if c.enabled:
            v.check(0 < c.threshold_minor <= MAX_AMOUNT_MINOR, "threshold_minor", "must be 1 to 10^12")
            check_blocks(v, c.blocks, self._settings.topup_max_blocks)
            one_top_up = max(c.blocks, 1) * self._settings.topup_block_minor
            v.check(
                one_top_up <= c.max_spend_minor <= MAX_AMOUNT_MINOR,
                "max_spend_minor",
                f"must be at least one top-up ({one_top_up}) and at most 10^12",
            )
        v.check(
            c.period_seconds == 0 or MIN_PERIOD_S <= c.period_seconds <= MAX_PERIOD_S,
            "period_seconds",
            f"must be 0 (30 days) or {MIN_PERIOD_S} to {MAX_PERIOD_S}",
        )
        v.raise_if_any()
        request = fingerprint(
            "auto_top_up", c.enabled, c.threshold_minor, c.blocks, c.max_spend_minor, c.period_seconds
        )
        await self._balance.set_low_balance_threshold(
            c.account_id, c.threshold_minor if c.enabled else 0, f"auto-top-up-{c.request_id}"
        )
        result = await self._run(
            "configure",
            _keys(c.account_id, f"request:{c.request_id}"),
            request,
            self._settings.idempotency_ttl_s,
            int(c.enabled),
            c.threshold_minor,
            c.blocks,
            c.max_spend_minor,
            c.period_seconds,
        )
        if result[0] == -1:
            raise RequestIdReused("request_id was already used with different parameters")
        return _parse(c.account_id, result[1])

    async def get(self, account_id: str) -> AutoTopUp:
        v = Violations()
        check_account_id(v, account_id)
        v.raise_if_any()
        return _parse(account_id, await self._run("read", _keys(account_id, "lock")))

    async def on_low_balance(self, event: LowBalanceEvent) -> str:
        """Tops up once per crossing, one at a time per account, within the spend cap.

        Raises Unavailable when a dependency is down, so the event is retried later.
        """
        account = event.account_id
        settings = await self.get(account)
        if not settings.enabled:
            return "disabled"
        request_id = f"auto-{event.transaction_id}"
        order_id = order_id_for(account, request_id)
        lock = _keys(account, "lock")[2]
        ttl_ms = self._settings.auto_top_up_lock_ttl_s * 1000
        acquired = await self._redis.set(lock, order_id, nx=True, px=ttl_ms)
        if not acquired and await self._redis.get(lock) != order_id:
            return "busy"  # another top-up for the account is running and will lift the balance
        try:
            if await self._balance.available_minor(account) >= settings.threshold_minor:
                await self._finish(account, order_id, "skipped")
                return "not_low"
            amount = settings.blocks * self._settings.topup_block_minor
            verdict = await self._run("reserve", _keys(account, "lock"), order_id, amount)
            if verdict != "go":
                await self._finish(account, order_id, "skipped")
                return verdict
            result = await self._saved_card.top_up(account, settings.blocks, request_id)
        except Unavailable:
            await self._finish(account, order_id, "retry")
            raise
        except ServiceError as err:  # declined, no saved card, rejected: counts towards self-disable
            await self._finish(account, order_id, "failed", err.reason)
            return "failed"
        if result.order.status == Status.REQUIRES_ACTION:
            await self._finish(account, order_id, "failed", "AUTHENTICATION_REQUIRED")
            return "failed"
        if result.order.status == Status.NEEDS_ATTENTION:  # charged, not delivered, refunded
            await self._finish(account, order_id, "failed", result.order.failure_reason)
            return "failed"
        await self._finish(account, order_id, "ok")
        return "topped_up"

    async def _finish(self, account_id: str, order_id: str, outcome: str, reason: str = "") -> None:
        await self._run(
            "finish",
            _keys(account_id, "lock"),
            order_id,
            outcome,
            reason,
            self._settings.auto_top_up_max_failures,
        )

    async def _run(self, op: str, keys: list[str], *args: object):
        return await self._script(keys=keys, args=[op, self._clock.now_ms(), DEFAULT_PERIOD_S, *args])
