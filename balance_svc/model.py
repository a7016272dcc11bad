"""Ledger values (balances, log entries, holds, mutation receipts), free of gRPC and Redis."""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import IntEnum

# Largest balance an account may hold: $10tn in cents. With single amounts capped at 10^12 every sum the
# scripts form stays below 2^53, where Lua's doubles stop being exact integers.
MAX_BALANCE_MINOR = 10**15


class TransactionType(IntEnum):
    """Kinds of log entry; the numbers are balance.v1.TransactionType's."""

    CREDIT = 1
    DEBIT = 2
    HOLD_CREATED = 3
    HOLD_CAPTURED = 4
    HOLD_RELEASED = 5


class Reason(IntEnum):
    """Why money moved; the numbers are balance.v1.TransactionReason's. Hold entries carry UNSPECIFIED."""

    UNSPECIFIED = 0
    TOP_UP = 1
    PURCHASE = 2
    USAGE = 3
    REFUND = 4
    ADJUSTMENT = 5
    PROMOTIONAL = 6


# Which reasons each direction takes (issue 13): a reason that contradicts its direction is refused.
CREDIT_REASONS = frozenset({Reason.TOP_UP, Reason.REFUND, Reason.ADJUSTMENT, Reason.PROMOTIONAL})
DEBIT_REASONS = frozenset({Reason.PURCHASE, Reason.USAGE, Reason.REFUND, Reason.ADJUSTMENT})
CAPTURE_REASONS = frozenset({Reason.PURCHASE, Reason.USAGE})


class HoldStatus(IntEnum):
    """The numbers are balance.v1.HoldStatus's; EXPIRED is never stored, only read."""

    PENDING = 1
    CAPTURED = 2
    RELEASED = 3
    EXPIRED = 4


@dataclass(frozen=True)
class Move:
    """What a credit or a debit asks for; the request's fingerprint covers exactly these fields."""

    amount_minor: int
    currency: str  # '' means the account's own
    reason: int  # the proto number as sent, so fingerprints match the ones stored before this class
    reference: str


@dataclass(frozen=True)
class Balance:
    account_id: str
    currency: str
    balance_minor: int
    held_minor: int
    threshold_minor: int

    @property
    def available_minor(self) -> int:
        return self.balance_minor - self.held_minor


@dataclass(frozen=True)
class Transaction:
    seq: int  # position in the account's log, from 1
    account_id: str
    type: TransactionType
    reason: Reason
    amount_minor: int
    currency: str
    balance_after_minor: int
    reference: str
    request_id: str
    hold_id: str
    create_time_ms: int
    hold_expire_time_ms: int  # HOLD_CREATED only, so an audit can tell live holds from the log alone

    @property
    def transaction_id(self) -> str:
        return f"tx_{self.seq}"


@dataclass(frozen=True)
class Hold:
    hold_id: str
    account_id: str
    amount_minor: int
    currency: str
    status: HoldStatus
    captured_minor: int
    reference: str
    create_time_ms: int
    expire_time_ms: int

    def as_of(self, now_ms: int) -> Hold:
        """The hold with its effective status: a pending hold at or past its expiry reads EXPIRED."""
        if self.status is HoldStatus.PENDING and now_ms >= self.expire_time_ms:
            return replace(self, status=HoldStatus.EXPIRED)
        return self


@dataclass(frozen=True)
class LowBalanceCrossing:
    """A debit or capture took available below the threshold; (account_id, transaction_id) names it."""

    account_id: str
    transaction_id: str
    currency: str
    available_minor: int
    threshold_minor: int


@dataclass(frozen=True)
class Receipt:
    """What one mutation returns, and what its replays return again."""

    balance: Balance
    transaction: Transaction | None  # None only for a threshold change, which writes no entry
    hold: Hold | None  # the hold a hold verb touched
    low_balance: LowBalanceCrossing | None  # the crossing this request made, if it made one
    replayed: bool  # the response of an earlier call of this request: this call moved nothing


@dataclass(frozen=True)
class AccountRead:
    """An account's figures with the entries it counts and the entries its log holds, from one read."""

    balance: Balance
    counted: int
    logged: int


@dataclass(frozen=True)
class Verification:
    balance_minor: int
    computed_balance_minor: int
    held_minor: int
    computed_held_minor: int
    transaction_count: int
    mismatches: tuple[str, ...]

    @property
    def consistent(self) -> bool:
        return not self.mismatches
