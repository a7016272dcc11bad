"""pricing_svc's error reasons (mirroring pricing.v1.ErrorReason) and the named errors that carry them."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from svckit.errors import (
    Aborted,
    AlreadyExists,
    FailedPrecondition,
    NotFound,
    RequestIdReused,
    ServiceError,
)


class ErrorReason(StrEnum):
    """Every ErrorInfo reason pricing_svc sends; a test keeps it equal to the proto and the Lua scripts."""

    INVALID_ARGUMENT = "INVALID_ARGUMENT"
    PRODUCT_NOT_FOUND = "PRODUCT_NOT_FOUND"
    DISCOUNT_CODE_NOT_FOUND = "DISCOUNT_CODE_NOT_FOUND"
    RESERVATION_NOT_FOUND = "RESERVATION_NOT_FOUND"
    DISCOUNT_CODE_ALREADY_EXISTS = "DISCOUNT_CODE_ALREADY_EXISTS"
    CONFIG_VERSION_MISMATCH = "CONFIG_VERSION_MISMATCH"
    DISCOUNT_CODE_EXPIRED = "DISCOUNT_CODE_EXPIRED"
    DISCOUNT_CODE_NOT_YET_VALID = "DISCOUNT_CODE_NOT_YET_VALID"
    DISCOUNT_CODE_DISABLED = "DISCOUNT_CODE_DISABLED"
    DISCOUNT_CODE_EXHAUSTED = "DISCOUNT_CODE_EXHAUSTED"
    DISCOUNT_CODE_ACCOUNT_LIMIT_REACHED = "DISCOUNT_CODE_ACCOUNT_LIMIT_REACHED"
    DISCOUNT_CODE_NOT_APPLICABLE = "DISCOUNT_CODE_NOT_APPLICABLE"
    RESERVATION_CONFLICT = "RESERVATION_CONFLICT"
    RESERVATION_RELEASED = "RESERVATION_RELEASED"
    RESERVATION_EXPIRED = "RESERVATION_EXPIRED"
    RESERVATION_CONFIRMED = "RESERVATION_CONFIRMED"
    REQUEST_ID_REUSED = "REQUEST_ID_REUSED"
    ADMIN_TOKEN_MISSING = "ADMIN_TOKEN_MISSING"
    ADMIN_TOKEN_INVALID = "ADMIN_TOKEN_INVALID"
    ADMIN_DISABLED = "ADMIN_DISABLED"
    ROLE_MISSING = "ROLE_MISSING"
    BACKEND_UNAVAILABLE = "BACKEND_UNAVAILABLE"
    NOT_IMPLEMENTED = "NOT_IMPLEMENTED"
    INTERNAL = "INTERNAL"


class ProductNotFound(NotFound):
    reason = ErrorReason.PRODUCT_NOT_FOUND


class DiscountCodeNotFound(NotFound):
    reason = ErrorReason.DISCOUNT_CODE_NOT_FOUND


class ReservationNotFound(NotFound):
    reason = ErrorReason.RESERVATION_NOT_FOUND


class DiscountCodeAlreadyExists(AlreadyExists):
    reason = ErrorReason.DISCOUNT_CODE_ALREADY_EXISTS


class ConfigVersionMismatch(Aborted):
    reason = ErrorReason.CONFIG_VERSION_MISMATCH


class DiscountCodeExpired(FailedPrecondition):
    reason = ErrorReason.DISCOUNT_CODE_EXPIRED


class DiscountCodeNotYetValid(FailedPrecondition):
    reason = ErrorReason.DISCOUNT_CODE_NOT_YET_VALID


class DiscountCodeDisabled(FailedPrecondition):
    reason = ErrorReason.DISCOUNT_CODE_DISABLED


class DiscountCodeExhausted(FailedPrecondition):
    reason = ErrorReason.DISCOUNT_CODE_EXHAUSTED


class DiscountCodeAccountLimitReached(FailedPrecondition):
    reason = ErrorReason.DISCOUNT_CODE_ACCOUNT_LIMIT_REACHED


class DiscountCodeNotApplicable(FailedPrecondition):
    reason = ErrorReason.DISCOUNT_CODE_NOT_APPLICABLE


class ReservationConflict(FailedPrecondition):
    reason = ErrorReason.RESERVATION_CONFLICT


class ReservationReleased(FailedPrecondition):
    reason = ErrorReason.RESERVATION_RELEASED


class ReservationExpired(FailedPrecondition):
    reason = ErrorReason.RESERVATION_EXPIRED


class ReservationConfirmed(FailedPrecondition):
    reason = ErrorReason.RESERVATION_CONFIRMED


# The refusals a Lua script may answer with, by reason.
_BY_REASON: dict[str, type[ServiceError]] = {
    cls.reason: cls
    for cls in (
        DiscountCodeNotFound,
        ReservationNotFound,
        DiscountCodeAlreadyExists,
        ConfigVersionMismatch,
        DiscountCodeExpired,
        DiscountCodeNotYetValid,
        DiscountCodeDisabled,
        DiscountCodeExhausted,
        DiscountCodeAccountLimitReached,
        DiscountCodeNotApplicable,
        ReservationConflict,
        ReservationReleased,
        ReservationExpired,
        ReservationConfirmed,
        RequestIdReused,
    )
}


def refusal(reason: str, metadata: Mapping[str, str]) -> ServiceError:
    """The error for a reason a script refused with; its metadata (e.g. current_version) goes to ErrorInfo."""
    return _BY_REASON[reason](metadata=metadata)
