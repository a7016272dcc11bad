"""The ledger's operations: check a request, fingerprint it, run it as one script, signal low balances."""

from __future__ import annotations

import hashlib
from collections.abc import Set
from typing import Any

from balance_svc import audit, metrics
from balance_svc.errors import HoldNotFound
from balance_svc.model import (
    CAPTURE_REASONS,
    CREDIT_REASONS,
    DEBIT_REASONS,
    Balance,
    Hold,
    Move,
    Reason,
    Receipt,
    Transaction,
    Verification,
)
from balance_svc.store import BalanceStore, Stamp
from svckit.clock import Clock
from svckit.errors import Violations
from svckit.paging import Paging
from svckit.validation import (
    MAX_AMOUNT_MINOR,
    check_account_id,
    check_amount,
    check_currency,
    check_request_id,
    check_text,
)

MIN_HOLD_TIMEOUT_MS = 1_000
MAX_HOLD_TIMEOUT_MS = 7 * 86_400_000
MAX_REFERENCE_CHARS = 256
TRANSACTION_PAGES = Paging("tx", default_size=50, max_size=500)
_VERIFY_CHUNK = 1_000


class Ledger:
    def __init__(self, store: BalanceStore, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    async def credit(
        self, account_id: str, amount_minor: int, currency: str, reason: int, reference: str, request_id: str
    ) -> Receipt:
        move = Move(amount_minor, currency, reason, reference)
        _check_move(account_id, request_id, move, CREDIT_REASONS, "credit")
        stamp = self._stamp("credit", _move_params(move))
        return await self._moved(await self._store.credit(account_id, request_id, stamp, move))

    async def debit(
        self, account_id: str, amount_minor: int, currency: str, reason: int, reference: str, request_id: str
    ) -> Receipt:
        move = Move(amount_minor, currency, reason, reference)
        _check_move(account_id, request_id, move, DEBIT_REASONS, "debit")
        stamp = self._stamp("debit", _move_params(move))
        return await self._moved(await self._store.debit(account_id, request_id, stamp, move))

    async def create_hold(
        self,
        account_id: str,
        amount_minor: int,
        currency: str,
        timeout_ms: int,
        reference: str,
        request_id: str,
    ) -> Receipt:
        v = _checked(account_id, request_id)
        _check_money(v, amount_minor, currency, reference)
        v.check(
            MIN_HOLD_TIMEOUT_MS <= timeout_ms <= MAX_HOLD_TIMEOUT_MS,
            "timeout_ms",
            f"must be between {MIN_HOLD_TIMEOUT_MS} (1 s) and {MAX_HOLD_TIMEOUT_MS} (7 days)",
        )
        v.raise_if_any()
        params = _params(
            amount_minor=amount_minor, currency=currency, timeout_ms=timeout_ms, reference=reference
        )
        stamp = self._stamp("create_hold", {"hold_id": request_id, **params})  # the request id names the hold
        return await self._store.create_hold(account_id, request_id, stamp, **params)

    async def capture_hold(
        self, account_id: str, hold_id: str, amount_minor: int, reason: int, request_id: str
    ) -> Receipt:
        v = _checked(account_id, request_id)
        check_request_id(v, hold_id, "hold_id")
        check_amount(v, amount_minor)
        _check_reason(v, reason, CAPTURE_REASONS, "capture")
        v.raise_if_any()
        params = _params(hold_id=hold_id, amount_minor=amount_minor, reason=reason)
        stamp = self._stamp("capture_hold", params)
        return await self._moved(await self._store.capture_hold(account_id, request_id, stamp, **params))

    async def release_hold(self, account_id: str, hold_id: str, request_id: str) -> Receipt:
        v = _checked(account_id, request_id)
        check_request_id(v, hold_id, "hold_id")
        v.raise_if_any()
        stamp = self._stamp("release_hold", _params(hold_id=hold_id))
        return await self._store.release_hold(account_id, request_id, stamp, hold_id=hold_id)

    async def set_low_balance_threshold(
        self, account_id: str, threshold_minor: int, request_id: str
    ) -> Receipt:
        v = _checked(account_id, request_id)
        v.check(
            0 <= threshold_minor <= MAX_AMOUNT_MINOR,
            "threshold_minor",
            f"must be between 0 (off) and {MAX_AMOUNT_MINOR}",
        )
        v.raise_if_any()
        stamp = self._stamp("set_threshold", _params(amount_minor=threshold_minor))
        return await self._store.set_low_balance_threshold(
            account_id, request_id, stamp, threshold_minor=threshold_minor
        )

    async def balance(self, account_id: str) -> Balance:
        _check_account(account_id)
        return (await self._store.balance(account_id, self._clock.now_ms())).balance

    async def hold(self, account_id: str, hold_id: str) -> Hold:
        v = Violations()
        check_account_id(v, account_id)
        check_request_id(v, hold_id, "hold_id")
        v.raise_if_any()
        found = await self._store.hold(account_id, hold_id)
        if found is None:
            raise HoldNotFound(f"account {account_id} has no hold {hold_id!r}")
        return found.as_of(self._clock.now_ms())

    async def transactions(
        self, account_id: str, page_size: int, page_token: str
    ) -> tuple[list[Transaction], str]:
        """A page of the log, newest first, and the token of the next page ('' after the last)."""
        v = Violations()
        check_account_id(v, account_id)
        size = TRANSACTION_PAGES.page_size(v, page_size)
        position = TRANSACTION_PAGES.decode_token(v, page_token)
        newest_seq = int(position) if position.isdigit() else 0
        v.check(not position or newest_seq > 0, "page_token", "is not a token from a previous response")
        v.raise_if_any()
        entries = await self._store.newest_entries(account_id, newest_seq or None, size + 1)
        if len(entries) > size:
            return entries[:size], TRANSACTION_PAGES.encode_token(str(entries[size].seq))
        return entries, ""

    async def verify(self, account_id: str) -> Verification:
        _check_account(account_id)
        now_ms = self._clock.now_ms()
        read = await self._store.balance(account_id, now_ms)
        log = self._store.entries(account_id, read.balance.currency, read.logged, _VERIFY_CHUNK)
        verification = await audit.verify(read.balance, read.counted, log, now_ms)
        metrics.count_verification(verification.consistent)
        return verification

    def _stamp(self, verb: str, params: dict[str, Any]) -> Stamp:
        return Stamp(self._clock.now_ms(), _fingerprint(verb, params))

    async def _moved(self, receipt: Receipt) -> Receipt:
        """After a credit, debit or capture: counts the money it moved and signals a low balance."""
        if not receipt.replayed and receipt.transaction is not None:
            metrics.count_move(receipt.transaction)
        if receipt.low_balance is not None:
            # A replay publishes again with the same transaction id, which consumers dedupe on. So if
            # this process dies before the XADD (or the XADD fails), the caller, who got no success,
            # retries and the event goes out then; only a caller that never retries loses it.
            await self._store.publish(receipt.low_balance)
        return receipt


def _params(**params: Any) -> dict[str, Any]:
    """A verb's parameters: what its fingerprint covers, and the store's keyword arguments."""
    return params


def _move_params(move: Move) -> dict[str, Any]:
    """A credit's or debit's parameters, as `dataclasses.asdict` gave them: asdict deep-copies each field
    (4 us a call here, against 0.2 us)."""
    return _params(
        amount_minor=move.amount_minor, currency=move.currency, reason=move.reason, reference=move.reference
    )


def _fingerprint(verb: str, params: dict[str, Any]) -> str:
    """What a repeat must match; 32 hex characters whatever the request's size.

    Unchanged since the single mutate script (verb names and parameters included), so request records
    written before remain replayable.
    """
    return hashlib.blake2b(repr((verb, sorted(params.items()))).encode(), digest_size=16).hexdigest()


def _checked(account_id: str, request_id: str) -> Violations:
    v = Violations()
    check_account_id(v, account_id)
    check_request_id(v, request_id)
    return v


def _check_account(account_id: str) -> None:
    v = Violations()
    check_account_id(v, account_id)
    v.raise_if_any()


def _check_move(account_id: str, request_id: str, move: Move, allowed: Set[Reason], direction: str) -> None:
    v = _checked(account_id, request_id)
    _check_money(v, move.amount_minor, move.currency, move.reference)
    _check_reason(v, move.reason, allowed, direction)
    v.raise_if_any()


def _check_money(v: Violations, amount_minor: int, currency: str, reference: str) -> None:
    check_amount(v, amount_minor)
    if currency:  # empty means the account's own currency
        check_currency(v, currency)
    check_text(v, reference, "reference", max_chars=MAX_REFERENCE_CHARS)


def _check_reason(v: Violations, reason: int, allowed: Set[Reason], direction: str) -> None:
    """A reason that contradicts its direction (a credit for a PURCHASE) is as bad as no reason."""
    if reason not in allowed:
        v.add("reason", f"a {direction} takes one of {', '.join(r.name for r in sorted(allowed))}")
