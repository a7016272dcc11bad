"""The ledger's operations: check a request, fingerprint it, run it as one script, signal low balances."""

from __future__ import annotations

import base64
import binascii
import hashlib

from balance_svc import audit
from balance_svc.errors import HoldNotFound
from balance_svc.events import LowBalanceEvent
from balance_svc.model import Balance, Hold, Reason, Receipt, Transaction, Verification
from balance_svc.store import BalanceStore
from svckit.clock import Clock
from svckit.errors import Violations
from svckit.validation import (
    MAX_AMOUNT_MINOR,
    check_account_id,
    check_amount,
    check_currency,
    check_request_id,
)

MIN_HOLD_TIMEOUT_MS = 1_000
MAX_HOLD_TIMEOUT_MS = 7 * 86_400_000
MAX_REFERENCE_CHARS = 256
DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE = 50, 500
_VERIFY_CHUNK = 1_000
_PAGE_TOKEN_PREFIX = "tx:"
_MOVING_REASONS = frozenset(int(r) for r in Reason if r is not Reason.UNSPECIFIED)


class Ledger:
    def __init__(self, store: BalanceStore, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    async def credit(
        self, account_id: str, amount_minor: int, currency: str, reason: int, reference: str, request_id: str
    ) -> Receipt:
        return await self._move("credit", account_id, amount_minor, currency, reason, reference, request_id)

    async def debit(
        self, account_id: str, amount_minor: int, currency: str, reason: int, reference: str, request_id: str
    ) -> Receipt:
        return await self._move("debit", account_id, amount_minor, currency, reason, reference, request_id)

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
        return await self._run(
            "create_hold",
            account_id,
            request_id,
            hold_id=request_id,
            amount_minor=amount_minor,
            currency=currency,
            timeout_ms=timeout_ms,
            reference=reference,
        )

    async def capture_hold(
        self, account_id: str, hold_id: str, amount_minor: int, reason: int, request_id: str
    ) -> Receipt:
        v = _checked(account_id, request_id)
        check_request_id(v, hold_id, "hold_id")
        check_amount(v, amount_minor)
        _check_reason(v, reason)
        v.raise_if_any()
        return await self._run(
            "capture_hold", account_id, request_id, hold_id=hold_id, amount_minor=amount_minor, reason=reason
        )

    async def release_hold(self, account_id: str, hold_id: str, request_id: str) -> Receipt:
        v = _checked(account_id, request_id)
        check_request_id(v, hold_id, "hold_id")
        v.raise_if_any()
        return await self._run("release_hold", account_id, request_id, hold_id=hold_id)

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
        return await self._run("set_threshold", account_id, request_id, amount_minor=threshold_minor)

    async def balance(self, account_id: str) -> Balance:
        _check_account(account_id)
        figures, _, _ = await self._store.balance(account_id, self._clock.now_ms())
        return figures

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
        v.check(
            0 <= page_size <= MAX_PAGE_SIZE, "page_size", f"must be between 0 (default) and {MAX_PAGE_SIZE}"
        )
        newest_seq = _newest_seq(page_token, v)
        v.raise_if_any()
        size = page_size or DEFAULT_PAGE_SIZE
        entries = await self._store.newest_entries(account_id, newest_seq, size + 1)
        if len(entries) > size:
            return entries[:size], _page_token(entries[size].seq)
        return entries, ""

    async def verify(self, account_id: str) -> Verification:
        _check_account(account_id)
        now_ms = self._clock.now_ms()
        stored, counted, logged = await self._store.balance(account_id, now_ms)
        log = self._store.entries(account_id, stored.currency, logged, _VERIFY_CHUNK)
        return await audit.verify(stored, counted, log, now_ms)

    async def _move(
        self,
        op: str,
        account_id: str,
        amount_minor: int,
        currency: str,
        reason: int,
        reference: str,
        request_id: str,
    ) -> Receipt:
        v = _checked(account_id, request_id)
        _check_money(v, amount_minor, currency, reference)
        _check_reason(v, reason)
        v.raise_if_any()
        return await self._run(
            op,
            account_id,
            request_id,
            amount_minor=amount_minor,
            currency=currency,
            reason=reason,
            reference=reference,
        )

    async def _run(self, op: str, account_id: str, request_id: str, **params) -> Receipt:
        receipt = await self._store.mutate(
            op,
            account_id,
            now_ms=self._clock.now_ms(),
            fingerprint=_fingerprint(op, params),
            request_id=request_id,
            **params,
        )
        if receipt.crossed_low_balance:
            # A replay publishes again with the same transaction id, which consumers dedupe on. So if
            # this process dies before the XADD (or the XADD fails), the caller, who got no success,
            # retries and the event goes out then; only a caller that never retries loses it.
            await self._store.publish(_low_balance_event(receipt))
        return receipt


def _fingerprint(op: str, params: dict) -> str:
    """What a repeat must match; 32 hex characters whatever the request's size."""
    return hashlib.blake2b(repr((op, sorted(params.items()))).encode(), digest_size=16).hexdigest()


def _low_balance_event(receipt: Receipt) -> LowBalanceEvent:
    balance, transaction = receipt.balance, receipt.transaction
    assert transaction is not None  # only debits and captures cross, and both write an entry
    return LowBalanceEvent(
        account_id=balance.account_id,
        transaction_id=transaction.transaction_id,
        currency=balance.currency,
        available_minor=balance.available_minor,
        threshold_minor=balance.threshold_minor,
    )


def _checked(account_id: str, request_id: str) -> Violations:
    v = Violations()
    check_account_id(v, account_id)
    check_request_id(v, request_id)
    return v


def _check_account(account_id: str) -> None:
    v = Violations()
    check_account_id(v, account_id)
    v.raise_if_any()


def _check_money(v: Violations, amount_minor: int, currency: str, reference: str) -> None:
    check_amount(v, amount_minor)
    if currency:  # empty means the account's own currency
        check_currency(v, currency)
    v.check(
        len(reference) <= MAX_REFERENCE_CHARS,
        "reference",
        f"must be at most {MAX_REFERENCE_CHARS} characters",
    )


def _check_reason(v: Violations, reason: int) -> None:
    v.check(reason in _MOVING_REASONS, "reason", "must be a TransactionReason other than UNSPECIFIED")


def _page_token(newest_seq: int) -> str:
    return base64.urlsafe_b64encode(f"{_PAGE_TOKEN_PREFIX}{newest_seq}".encode()).decode().rstrip("=")


def _newest_seq(page_token: str, v: Violations) -> int | None:
    if not page_token:
        return None
    try:
        text = base64.urlsafe_b64decode(page_token + "=" * (-len(page_token) % 4)).decode()
        seq = int(text.removeprefix(_PAGE_TOKEN_PREFIX)) if text.startswith(_PAGE_TOKEN_PREFIX) else 0
    except (binascii.Error, UnicodeDecodeError, ValueError):
        seq = 0
    v.check(seq > 0, "page_token", "is not a token from a previous ListTransactions response")
    return seq or None
