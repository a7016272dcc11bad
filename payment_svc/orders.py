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
    NEEDS_ATTENTION = "NEEDS_ATTENTION"
    DISPUTED = "DISPUTED"


# The state machine: each status and the statuses it may be entered from. The store enforces it
# atomically, so an event arriving after a later state (expired after paid) changes nothing.
ENTERED_FROM: dict[Status, frozenset[Status]] = {
    Status.REQUIRES_ACTION: frozenset({Status.PENDING}),
    Status.PAID: frozenset({Status.PENDING, Status.REQUIRES_ACTION}),
    Status.FULFILLED: frozenset({Status.PAID}),
    Status.EXPIRED: frozenset({Status.PENDING, Status.REQUIRES_ACTION}),
    Status.FAILED: frozenset({Status.PENDING, Status.REQUIRES_ACTION}),
    Status.REFUNDED: frozenset({Status.FULFILLED}),
    # Paid but cannot be delivered (or paid after it closed): final, refunded automatically.
    Status.NEEDS_ATTENTION: frozenset(
        {Status.PENDING, Status.REQUIRES_ACTION, Status.PAID, Status.EXPIRED, Status.FAILED}
    ),
    # DISPUTED is entered and left (a won dispute) only by the dispute scripts.
}
OPEN = frozenset({Status.PENDING, Status.REQUIRES_ACTION})
# Orders the sweeper never touches again and no payment event can fulfil.
TERMINAL = frozenset({Status.EXPIRED, Status.FAILED, Status.NEEDS_ATTENTION})

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
    promotion_codes: int = 0  # 1 when its Checkout offered Stripe promotion codes
    code_attempt: int = 0  # bumped each time the code reservation is released before a session exists
    paid_minor: int = 0  # what Stripe says was paid (less than amount_minor under a promotion code)
    attention_refund_id: str = ""  # the automatic refund of a NEEDS_ATTENTION order
    dispute_id: str = ""
    dispute_status: str = ""  # open, won or lost
    disputed_minor: int = 0
    dispute_shortfall_minor: int = 0
    refund_generation: int = 0  # bumped when a refund fails after it was reported
    refunded_minor: int = 0
    refund_shortfall_minor: int = 0
    failure_reason: str = ""
    correlation_id: str = ""  # of the RPC that created the order; its webhooks and sweeps log under it
    traceparent: str = ""  # the creating RPC's span (W3C), when traced: its webhooks' traces link to it
    history: tuple[tuple[Status, int], ...] = field(default_factory=tuple)
    create_ms: int = 0
    update_ms: int = 0

    @property
    def is_free(self) -> bool:
        return self.amount_minor == 0


def stripe_metadata(order: Order) -> dict[str, str]:
    """What each Stripe object made for an order carries: the ids that find the order, the correlation id
    its webhooks log under and the trace they link to (each absent when the order has none, so orders from
    before them send the params their idempotency keys were first used with)."""
    metadata = {"order_id": order.order_id, "account_id": order.account_id, "kind": order.kind.value}
    if order.correlation_id:
        metadata["correlation_id"] = order.correlation_id
    if order.traceparent:
        metadata["traceparent"] = order.traceparent
    return metadata
