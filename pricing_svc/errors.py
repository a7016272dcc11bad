"""pricing_svc's named errors; each `reason` is the ErrorInfo reason clients see."""

from __future__ import annotations

from svckit.errors import (
    Aborted,
    AlreadyExists,
    FailedPrecondition,
    NotFound,
    RequestIdReused,
    ServiceError,
)


class ProductNotFound(NotFound):
    reason = "PRODUCT_NOT_FOUND"


class DiscountCodeNotFound(NotFound):
    reason = "DISCOUNT_CODE_NOT_FOUND"


class ReservationNotFound(NotFound):
    reason = "RESERVATION_NOT_FOUND"


class DiscountCodeAlreadyExists(AlreadyExists):
    reason = "DISCOUNT_CODE_ALREADY_EXISTS"


class ConfigVersionMismatch(Aborted):
    reason = "CONFIG_VERSION_MISMATCH"


class DiscountCodeExpired(FailedPrecondition):
    reason = "DISCOUNT_CODE_EXPIRED"


class DiscountCodeNotYetValid(FailedPrecondition):
    reason = "DISCOUNT_CODE_NOT_YET_VALID"


class DiscountCodeDisabled(FailedPrecondition):
    reason = "DISCOUNT_CODE_DISABLED"


class DiscountCodeExhausted(FailedPrecondition):
    reason = "DISCOUNT_CODE_EXHAUSTED"


class DiscountCodeAccountLimitReached(FailedPrecondition):
    reason = "DISCOUNT_CODE_ACCOUNT_LIMIT_REACHED"


class DiscountCodeNotApplicable(FailedPrecondition):
    reason = "DISCOUNT_CODE_NOT_APPLICABLE"


class ReservationConflict(FailedPrecondition):
    reason = "RESERVATION_CONFLICT"


class ReservationReleased(FailedPrecondition):
    reason = "RESERVATION_RELEASED"


class ReservationExpired(FailedPrecondition):
    reason = "RESERVATION_EXPIRED"


class ReservationConfirmed(FailedPrecondition):
    reason = "RESERVATION_CONFIRMED"


# Lua scripts answer with a reason name; this turns it back into the exception to raise.
BY_REASON: dict[str, type[ServiceError]] = {
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
