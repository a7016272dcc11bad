"""Automatic top-up: its settings, and charging the saved card when balance_svc reports a low balance."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import StrEnum

from balance.v1.low_balance_event_pb2 import LowBalanceEvent

from payment_svc.auto_top_up_store import (
    AttemptResult,
    AutoTopUp,
    AutoTopUpSettings,
    AutoTopUpStore,
    Reservation,
)
from payment_svc.balance_entries import available_minor
from payment_svc.checks import check_blocks
from payment_svc.config import Settings
from payment_svc.orders import Status, fingerprint, order_id_for
from payment_svc.ports import Balance
from payment_svc.saved_card import SavedCardTopUps
from svckit.clock import Clock
from svckit.errors import ServiceError, Unavailable, Violations
from svckit.validation import MAX_AMOUNT_MINOR, check_account_id, check_request_id

log = logging.getLogger(__name__)

MIN_PERIOD_S = 3600
MAX_PERIOD_S = 90 * 86400


class LowBalanceOutcome(StrEnum):
    """What one low-balance event led to (logged by the consumer)."""

    TOPPED_UP = "topped_up"
    DISABLED = "disabled"
    BUSY = "busy"  # another top-up for the account is running and will lift the balance
    NOT_LOW = "not_low"  # lifted meanwhile
    CAP_REACHED = "cap_reached"
    FAILED = "failed"  # counts towards turning automatic top-up off


@dataclass(frozen=True)
class AutoTopUpChange:
    account_id: str
    settings: AutoTopUpSettings
    request_id: str


class AutoTopUps:
    def __init__(
        self,
        *,
        settings: Settings,
        store: AutoTopUpStore,
        balance: Balance,
        saved_card: SavedCardTopUps,
        clock: Clock,
    ) -> None:
        self._settings = settings
        self._store = store
        self._balance = balance
        self._saved_card = saved_card
        self._clock = clock

    async def configure(self, c: AutoTopUpChange) -> AutoTopUp:
        """Stores the settings and sets balance_svc's low-balance threshold to match (0 when off)."""
        s = c.settings
        v = Violations()
        check_account_id(v, c.account_id)
        check_request_id(v, c.request_id)
        if s.enabled:
            v.check(0 < s.threshold_minor <= MAX_AMOUNT_MINOR, "threshold_minor", "must be 1 to 10^12")
            check_blocks(v, s.blocks, self._settings.topup_max_blocks)
            one_top_up = max(s.blocks, 1) * self._settings.topup_block_minor
            v.check(
                one_top_up <= s.max_spend_minor <= MAX_AMOUNT_MINOR,
                "max_spend_minor",
                f"must be at least one top-up ({one_top_up}) and at most 10^12",
            )
        v.check(
            s.period_seconds == 0 or MIN_PERIOD_S <= s.period_seconds <= MAX_PERIOD_S,
            "period_seconds",
            f"must be 0 (30 days) or {MIN_PERIOD_S} to {MAX_PERIOD_S}",
        )
        v.raise_if_any()
        request = fingerprint(
            "auto_top_up", s.enabled, s.threshold_minor, s.blocks, s.max_spend_minor, s.period_seconds
        )
        await self._balance.set_low_balance_threshold(
            c.account_id, s.threshold_minor if s.enabled else 0, request_id=f"auto-top-up-{c.request_id}"
        )
        return await self._store.configure(c.account_id, c.request_id, request, s, self._clock.now_ms())

    async def get(self, account_id: str) -> AutoTopUp:
        v = Violations()
        check_account_id(v, account_id)
        v.raise_if_any()
        return await self._store.read(account_id, self._clock.now_ms())

    async def on_low_balance(self, event: LowBalanceEvent) -> LowBalanceOutcome:
        """Tops up once per crossing, one at a time per account, within the spend cap.

        Raises Unavailable when a dependency is down, so the event is retried later.
        """
        account = event.account_id
        settings = await self.get(account)
        if not settings.enabled:
            return LowBalanceOutcome.DISABLED
        request_id = f"auto-{event.transaction_id}"
        order_id = order_id_for(account, request_id)
        if not await self._store.lock(account, order_id):
            return LowBalanceOutcome.BUSY
        try:
            if await available_minor(self._balance, account) >= settings.threshold_minor:
                await self._finish(account, order_id, AttemptResult.SKIPPED)
                return LowBalanceOutcome.NOT_LOW
            amount = settings.blocks * self._settings.topup_block_minor
            reservation = await self._store.reserve(account, order_id, amount, self._clock.now_ms())
            if reservation != Reservation.RESERVED:
                await self._finish(account, order_id, AttemptResult.SKIPPED)
                return LowBalanceOutcome(reservation.value)
            result = await self._saved_card.top_up(account, settings.blocks, request_id)
        except Unavailable:
            await self._finish(account, order_id, AttemptResult.RETRY)
            raise
        except ServiceError as err:  # declined, no saved card, rejected: counts towards self-disable
            await self._finish(account, order_id, AttemptResult.FAILED, err.reason)
            return LowBalanceOutcome.FAILED
        if result.order.status == Status.REQUIRES_ACTION:
            await self._finish(account, order_id, AttemptResult.FAILED, "AUTHENTICATION_REQUIRED")
            return LowBalanceOutcome.FAILED
        if result.order.status == Status.NEEDS_ATTENTION:  # charged, not delivered, refunded
            await self._finish(account, order_id, AttemptResult.FAILED, result.order.failure_reason)
            return LowBalanceOutcome.FAILED
        await self._finish(account, order_id, AttemptResult.OK)
        return LowBalanceOutcome.TOPPED_UP

    async def _finish(self, account_id: str, order_id: str, result: AttemptResult, reason: str = "") -> None:
        max_failures = self._settings.auto_top_up_max_failures
        await self._store.finish(account_id, order_id, result, reason, max_failures, self._clock.now_ms())
