"""Named payment errors; the interceptor maps each to a status with its ErrorInfo reason."""

from __future__ import annotations

import functools
from enum import StrEnum
from typing import Protocol

from svckit.errors import FailedPrecondition, InvalidArgument, NotFound, ServiceError, Unavailable


class ErrorReason(StrEnum):
    """payment.v1.ErrorReason without its ERROR_REASON_ prefix: the ErrorInfo reasons of payment_svc's
    own errors (svckit's shared ones, e.g. INVALID_ARGUMENT, and peers' passed-on ones come on top)."""

    PAYMENTS_NOT_CONFIGURED = "PAYMENTS_NOT_CONFIGURED"
    WEBHOOKS_NOT_CONFIGURED = "WEBHOOKS_NOT_CONFIGURED"
    INVALID_WEBHOOK = "INVALID_WEBHOOK"
    ORDER_NOT_FOUND = "ORDER_NOT_FOUND"
    CURRENCY_MISMATCH = "CURRENCY_MISMATCH"
    CARD_DECLINED = "CARD_DECLINED"
    NO_SAVED_PAYMENT_METHOD = "NO_SAVED_PAYMENT_METHOD"
    ORDER_NOT_REFUNDABLE = "ORDER_NOT_REFUNDABLE"
    REFUND_EXCEEDS_PAID = "REFUND_EXCEEDS_PAID"
    STRIPE_UNAVAILABLE = "STRIPE_UNAVAILABLE"
    STRIPE_REQUEST_REJECTED = "STRIPE_REQUEST_REJECTED"
    DEPENDENCY_UNAVAILABLE = "DEPENDENCY_UNAVAILABLE"


class PaymentsNotConfigured(FailedPrecondition):
    reason = ErrorReason.PAYMENTS_NOT_CONFIGURED


class WebhooksNotConfigured(FailedPrecondition):
    reason = ErrorReason.WEBHOOKS_NOT_CONFIGURED


class InvalidWebhook(InvalidArgument):
    """A bad signature, a timestamp outside the tolerance or an unusable body: nothing changes."""

    reason = ErrorReason.INVALID_WEBHOOK


class OrderNotFound(NotFound):
    reason = ErrorReason.ORDER_NOT_FOUND


class CurrencyMismatch(FailedPrecondition):
    """The account's balance is held in another currency than the top-up's."""

    reason = ErrorReason.CURRENCY_MISMATCH


class CardDeclined(FailedPrecondition):
    reason = ErrorReason.CARD_DECLINED


class NoSavedPaymentMethod(FailedPrecondition):
    reason = ErrorReason.NO_SAVED_PAYMENT_METHOD


class OrderNotRefundable(FailedPrecondition):
    reason = ErrorReason.ORDER_NOT_REFUNDABLE


class RefundExceedsPaid(FailedPrecondition):
    reason = ErrorReason.REFUND_EXCEEDS_PAID


class StripeUnavailable(Unavailable):
    reason = ErrorReason.STRIPE_UNAVAILABLE


class StripeRejected(FailedPrecondition):
    """Stripe refused a request as invalid; retrying it unchanged would fail the same way."""

    reason = ErrorReason.STRIPE_REQUEST_REJECTED


class DependencyUnavailable(Unavailable):
    reason = ErrorReason.DEPENDENCY_UNAVAILABLE


class PeerRejected(ServiceError):
    """A peer's verdict passed on with its own code and reason (e.g. DISCOUNT_CODE_EXHAUSTED): one subclass
    per (code, reason), made by `peer_rejected`, so both stay class attributes like every ServiceError's."""


@functools.cache
def _peer_rejected_class(code: str, reason: str) -> type[PeerRejected]:
    return type(f"PeerRejected_{reason}", (PeerRejected,), {"code": code, "reason": reason})


def peer_rejected(code: str, reason: str, message: str) -> PeerRejected:
    return _peer_rejected_class(code, reason)(message)


class _StatusCode(Protocol):
    @property
    def name(self) -> str: ...


class PeerFailure(Protocol):
    """The shape of priceledger_client.ClientError this module reads (so it imports no grpc)."""

    @property
    def code(self) -> _StatusCode: ...

    reason: str
    message: str
    method: str

    @property
    def transient(self) -> bool: ...


def from_peer(err: PeerFailure) -> ServiceError:
    """The error mapper of payment_svc's peer clients: a peer failing for the moment stays retryable for
    our caller (UNAVAILABLE); its verdict keeps its code and reason (e.g. DISCOUNT_CODE_EXHAUSTED)."""
    if err.transient:
        return DependencyUnavailable(f"{err.method} is unavailable: {err.code.name} {err.message}")
    return peer_rejected(err.code.name, err.reason, f"{err.method}: {err.message}")
