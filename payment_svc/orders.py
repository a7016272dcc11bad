"""The order, its kinds and the state machine its status follows."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from enum import StrEnum


class Kind(StrEnum):
    PRODUCT = "PRODUCT"
    TOP_UP = "TOP_UP"


class Status(StrEnum):
    PENDING = "PENDING"
    PAID = "PAID"
    FULFILLED = "FULFILLED"
    EXPIRED = "EXPIRED"
    FAILED = "FAILED"
    REQUIRES_ACTION = "REQUIRES_ACTION"
    REFUNDED = "REFUNDED"


# The state machine: each status and the statuses it may be entered from. The store enforces it
# atomically, so an event arriving after a later state (expired after paid) changes nothing.
ENTERED_FROM: dict[Status, frozenset[Status]] = {
    Status.REQUIRES_ACTION: frozenset({Status.PENDING}),
    Status.PAID: frozenset({Status.PENDING, Status.REQUIRES_ACTION}),
    Status.FULFILLED: frozenset({Status.PAID}),
    Status.EXPIRED: frozenset({Status.PENDING, Status.REQUIRES_ACTION}),
    Status.FAILED: frozenset({Status.PENDING, Status.REQUIRES_ACTION}),
    Status.REFUNDED: frozenset({Status.FULFILLED}),
}
OPEN = frozenset({Status.PENDING, Status.REQUIRES_ACTION})
PAID_OR_LATER = frozenset({Status.PAID, Status.FULFILLED, Status.REFUNDED})

ORDER_ID_RE = re.compile(r"ord_[0-9a-f]{24}")


def order_id_for(account_id: str, request_id: str) -> str:
    """The same account and request_id always name the same order, so a retried RPC finds it."""
    digest = hashlib.sha256(f"{account_id}\n{request_id}".encode()).hexdigest()
    return f"ord_{digest[:24]}"


def fingerprint(*params: object) -> str:
    """Tells a retry (same params) from a reused request_id (different params)."""
    return hashlib.sha256(repr(params).encode()).hexdigest()[:32]


@dataclass(frozen=True)
class Order:
    order_id: str
    account_id: str
    kind: Kind
    status: Status
    amount_minor: int
    currency: str
    product_id: str = ""
    blocks: int = 0
    quote: bytes = b""  # the serialized pricing.v1.Quote the amount came from
    discount_code: str = ""
    stripe_customer_id: str = ""
    stripe_checkout_session_id: str = ""
    stripe_payment_intent_id: str = ""
    checkout_url: str = ""
    session_expires_at_s: int = 0
    refunded_minor: int = 0
    refund_shortfall_minor: int = 0
    failure_reason: str = ""
    history: tuple[tuple[Status, int], ...] = field(default_factory=tuple)
    create_ms: int = 0
    update_ms: int = 0

    @property
    def is_free(self) -> bool:
        return self.amount_minor == 0
