"""Named refusals of balance_svc; the Lua scripts return these reasons and the store raises the class."""

from __future__ import annotations

from svckit.errors import FailedPrecondition, NotFound, RequestIdReused, ServiceError


class InsufficientFunds(FailedPrecondition):
    reason = "INSUFFICIENT_FUNDS"


class CurrencyMismatch(FailedPrecondition):
    reason = "CURRENCY_MISMATCH"


class BalanceLimitExceeded(FailedPrecondition):
    reason = "BALANCE_LIMIT_EXCEEDED"


class HoldNotFound(NotFound):
    reason = "HOLD_NOT_FOUND"


class HoldExpired(FailedPrecondition):
    reason = "HOLD_EXPIRED"


class HoldAlreadyCaptured(FailedPrecondition):
    reason = "HOLD_ALREADY_CAPTURED"


class HoldAlreadyReleased(FailedPrecondition):
    reason = "HOLD_ALREADY_RELEASED"


class CaptureExceedsHold(FailedPrecondition):
    reason = "CAPTURE_EXCEEDS_HOLD"


_BY_REASON: dict[str, type[ServiceError]] = {
    cls.reason: cls
    for cls in (
        InsufficientFunds,
        CurrencyMismatch,
        BalanceLimitExceeded,
        HoldNotFound,
        HoldExpired,
        HoldAlreadyCaptured,
        HoldAlreadyReleased,
        CaptureExceedsHold,
        RequestIdReused,
    )
}


def refusal(reason: str, metadata: dict[str, str]) -> ServiceError:
    """The error for a reason a script returned; its metadata (e.g. available_minor) goes to ErrorInfo."""
    details = ", ".join(f"{k}={v}" for k, v in metadata.items())
    message = reason.lower().replace("_", " ") + (f" ({details})" if details else "")
    return _BY_REASON[reason](message, metadata=metadata)
