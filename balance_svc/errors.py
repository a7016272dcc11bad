"""balance_svc's error reasons, mirrored from balance.v1.ErrorReason, and the refusals its scripts return."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from svckit.errors import FailedPrecondition, NotFound, RequestIdReused, ServiceError


class ErrorReason(StrEnum):
    """Every ErrorInfo reason balance_svc returns; tests keep it equal to balance.v1.ErrorReason."""

    INVALID_ARGUMENT = "INVALID_ARGUMENT"
    REQUEST_ID_REUSED = "REQUEST_ID_REUSED"
    INSUFFICIENT_FUNDS = "INSUFFICIENT_FUNDS"
    CURRENCY_MISMATCH = "CURRENCY_MISMATCH"
    BALANCE_LIMIT_EXCEEDED = "BALANCE_LIMIT_EXCEEDED"
    HOLD_NOT_FOUND = "HOLD_NOT_FOUND"
    HOLD_EXPIRED = "HOLD_EXPIRED"
    HOLD_ALREADY_CAPTURED = "HOLD_ALREADY_CAPTURED"
    HOLD_ALREADY_RELEASED = "HOLD_ALREADY_RELEASED"
    CAPTURE_EXCEEDS_HOLD = "CAPTURE_EXCEEDS_HOLD"
    ADMIN_TOKEN_MISSING = "ADMIN_TOKEN_MISSING"
    ADMIN_TOKEN_INVALID = "ADMIN_TOKEN_INVALID"
    ADMIN_DISABLED = "ADMIN_DISABLED"
    ROLE_MISSING = "ROLE_MISSING"
    BACKEND_UNAVAILABLE = "BACKEND_UNAVAILABLE"
    NOT_IMPLEMENTED = "NOT_IMPLEMENTED"
    INTERNAL = "INTERNAL"


class InsufficientFunds(FailedPrecondition):
    reason = ErrorReason.INSUFFICIENT_FUNDS


class CurrencyMismatch(FailedPrecondition):
    reason = ErrorReason.CURRENCY_MISMATCH


class BalanceLimitExceeded(FailedPrecondition):
    reason = ErrorReason.BALANCE_LIMIT_EXCEEDED


class HoldNotFound(NotFound):
    reason = ErrorReason.HOLD_NOT_FOUND


class HoldExpired(FailedPrecondition):
    reason = ErrorReason.HOLD_EXPIRED


class HoldAlreadyCaptured(FailedPrecondition):
    reason = ErrorReason.HOLD_ALREADY_CAPTURED


class HoldAlreadyReleased(FailedPrecondition):
    reason = ErrorReason.HOLD_ALREADY_RELEASED


class CaptureExceedsHold(FailedPrecondition):
    reason = ErrorReason.CAPTURE_EXCEEDS_HOLD


# The refusals a script may return, by reason.
SCRIPT_REFUSALS: dict[str, type[ServiceError]] = {
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


def refusal(reason: str, metadata: Mapping[str, str]) -> ServiceError:
    """The error for a reason a script returned; its metadata (e.g. available_minor) goes to ErrorInfo."""
    details = ", ".join(f"{k}={v}" for k, v in metadata.items())
    message = reason.lower().replace("_", " ") + (f" ({details})" if details else "")
    return SCRIPT_REFUSALS[reason](message, metadata=metadata)
