"""Named payment errors; the interceptor maps each to a status with its ErrorInfo reason."""

from svckit.errors import FailedPrecondition, InvalidArgument, NotFound, ServiceError, Unavailable


class PaymentsNotConfigured(FailedPrecondition):
    reason = "PAYMENTS_NOT_CONFIGURED"


class WebhooksNotConfigured(FailedPrecondition):
    reason = "WEBHOOKS_NOT_CONFIGURED"


class InvalidWebhook(InvalidArgument):
    """A bad signature, a timestamp outside the tolerance or an unusable body: nothing changes."""

    reason = "INVALID_WEBHOOK"


class OrderNotFound(NotFound):
    reason = "ORDER_NOT_FOUND"


class CurrencyMismatch(FailedPrecondition):
    """The account's balance is held in another currency than the top-up's."""

    reason = "CURRENCY_MISMATCH"


class CardDeclined(FailedPrecondition):
    reason = "CARD_DECLINED"


class NoSavedPaymentMethod(FailedPrecondition):
    reason = "NO_SAVED_PAYMENT_METHOD"


class OrderNotRefundable(FailedPrecondition):
    reason = "ORDER_NOT_REFUNDABLE"


class RefundExceedsPaid(FailedPrecondition):
    reason = "REFUND_EXCEEDS_PAID"


class StripeUnavailable(Unavailable):
    reason = "STRIPE_UNAVAILABLE"


class StripeRejected(FailedPrecondition):
    """Stripe refused a request as invalid; retrying it unchanged would fail the same way."""

    reason = "STRIPE_REQUEST_REJECTED"


class DependencyUnavailable(Unavailable):
    reason = "DEPENDENCY_UNAVAILABLE"


class PeerRejected(ServiceError):
    """A peer's error passed on with its own code and reason (e.g. DISCOUNT_CODE_EXHAUSTED)."""

    def __init__(self, code: str, reason: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
