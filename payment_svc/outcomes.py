"""What handling one Stripe event did; mirrored by payment.v1.WebhookOutcome (WEBHOOK_OUTCOME_<NAME>)."""

from enum import StrEnum


class Outcome(StrEnum):
    FULFILLED = "fulfilled"
    ALREADY_FULFILLED = "already_fulfilled"
    AWAITING_PAYMENT = "awaiting_payment"
    EXPIRED = "expired"
    FAILED = "failed"
    REQUIRES_ACTION = "requires_action"
    NEEDS_ATTENTION = "needs_attention"
    PAYMENT_MISMATCH = "payment_mismatch"
    REFUNDED = "refunded"
    REFUND_SUPERSEDED = "refund_superseded"
    REFUND_REVERTED = "refund_reverted"
    DISPUTE_OPEN = "dispute_open"
    DISPUTE_WON = "dispute_won"
    DISPUTE_LOST = "dispute_lost"
    UNKNOWN_ORDER = "unknown_order"
    IGNORED_ORDER_STATE = "ignored_order_state"
    IGNORED_CHECKOUT_ATTEMPT = "ignored_checkout_attempt"
    IGNORED = "ignored"
    NOT_APPLIED = "not_applied"  # refused for a lasting reason (logged at ERROR for an operator)
