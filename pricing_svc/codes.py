"""Discount codes: names, definitions and their validation, their terms' refusals, counts and reservations."""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, replace
from enum import StrEnum

from pricing_svc.catalogue import Product, check_product_id
from pricing_svc.errors import ErrorReason
from svckit.errors import Violations
from svckit.validation import MAX_AMOUNT_MINOR, check_currency

CODE_RE = re.compile(r"[A-Za-z0-9_-]{3,32}", re.ASCII)
PERCENT = "PERCENT"
FIXED = "FIXED"
MAX_LIMIT = 10**9
MAX_PRODUCT_IDS = 100
MIN_RESERVATION_TTL_S = 60
MAX_RESERVATION_TTL_S = 2 * 24 * 3600


class ReservationStatus(StrEnum):
    """Mirrors pricing.v1.ReservationStatus by name; the Lua scripts store these words."""

    RESERVED = "RESERVED"
    CONFIRMED = "CONFIRMED"
    RELEASED = "RELEASED"
    EXPIRED = "EXPIRED"


def normalize(v: Violations, value: str, field: str = "code") -> str:
    """Codes are case-insensitive: 3-32 ASCII characters of [A-Za-z0-9_-], kept upper case.

    The check runs on what the caller typed, so `upper()` never changes its length or alphabet
    (`ß` would become `SS`): the stored name is the one printed on the voucher.
    """
    v.check(bool(CODE_RE.fullmatch(value)), field, "must be 3-32 characters of [A-Za-z0-9_-]")
    return value.upper()


@dataclass(frozen=True)
class DiscountCode:
    """A code's definition; only `disabled` (kept apart from it) ever changes after creation."""

    code: str
    kind: str
    percent_off: int = 0
    amount_off_minor: int = 0
    currency: str = ""
    start_ms: int = 0
    end_ms: int = 0
    max_redemptions: int = 0
    max_per_account: int = 0
    product_ids: tuple[str, ...] = ()
    min_price_minor: int = 0
    stacks_with_sale: bool = False
    create_ms: int = 0

    def to_json(self) -> str:
        """The stored form; the Lua scripts read its limits from it."""
        return json.dumps(asdict(self), sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_json(cls, raw: str | bytes) -> DiscountCode:
        fields = json.loads(raw)
        # cjson has no empty array: a script's copy of [] may come back as {}.
        return cls(**{**fields, "product_ids": tuple(fields["product_ids"] or ())})

    def terms_json(self) -> str:
        """Everything a creator chose, for spotting a reused request id; not the creation time."""
        return replace(self, create_ms=0).to_json()

    def terms_refusal(self, product: Product, mode_price_minor: int, now_ms: int) -> ErrorReason | None:
        """Why the code's own terms rule it out for `product` now, or None; state (caps) is the store's."""
        if self.start_ms and now_ms < self.start_ms:
            return ErrorReason.DISCOUNT_CODE_NOT_YET_VALID
        if self.end_ms and now_ms >= self.end_ms:
            return ErrorReason.DISCOUNT_CODE_EXPIRED
        if not self._covers(product, mode_price_minor):
            return ErrorReason.DISCOUNT_CODE_NOT_APPLICABLE
        return None

    def _covers(self, product: Product, mode_price_minor: int) -> bool:
        """The product is listed (or none are), a FIXED code's currency is the product's, and the
        price reaches the code's minimum."""
        listed = not self.product_ids or product.product_id in self.product_ids
        currency_fits = self.kind != FIXED or self.currency == product.currency
        return listed and currency_fits and mode_price_minor >= self.min_price_minor


@dataclass(frozen=True)
class CodeState:
    """A code as the admin API shows it: definition, disabled flag and redemption counts.

    `held_by_account` counts the live and confirmed redemptions of the account a read asked about.
    """

    definition: DiscountCode
    disabled: bool
    reserved_count: int
    redeemed_count: int
    held_by_account: int = 0

    def state_refusal(self, account_id: str) -> ErrorReason | None:
        """Why the code's counts rule it out now, or None; with no account the per-account cap is skipped."""
        d = self.definition
        if d.max_redemptions and self.reserved_count + self.redeemed_count >= d.max_redemptions:
            return ErrorReason.DISCOUNT_CODE_EXHAUSTED
        if d.max_per_account and account_id and self.held_by_account >= d.max_per_account:
            return ErrorReason.DISCOUNT_CODE_ACCOUNT_LIMIT_REACHED
        return None


@dataclass(frozen=True)
class Reservation:
    code: str
    order_id: str
    account_id: str
    status: ReservationStatus
    expire_ms: int


def check_new(v: Violations, code: DiscountCode) -> None:
    """Adds a violation for every bad field of a code to create."""
    if code.kind == PERCENT:
        v.check(1 <= code.percent_off <= 100, "discount_code.percent_off", "must be between 1 and 100")
        v.check(code.amount_off_minor == 0, "discount_code.amount_off_minor", "must be 0 for a PERCENT code")
        v.check(code.currency == "", "discount_code.currency", "must be empty for a PERCENT code")
    elif code.kind == FIXED:
        v.check(
            0 < code.amount_off_minor <= MAX_AMOUNT_MINOR,
            "discount_code.amount_off_minor",
            f"must be between 1 and {MAX_AMOUNT_MINOR}",
        )
        v.check(code.percent_off == 0, "discount_code.percent_off", "must be 0 for a FIXED code")
        check_currency(v, code.currency, "discount_code.currency")
    else:
        v.add("discount_code.kind", "must be DISCOUNT_KIND_PERCENT or DISCOUNT_KIND_FIXED")
    if code.start_ms and code.end_ms:
        v.check(code.start_ms < code.end_ms, "discount_code.end_time", "must be after start_time")
    for name in ("max_redemptions", "max_per_account"):
        value = getattr(code, name)
        v.check(0 <= value <= MAX_LIMIT, f"discount_code.{name}", f"must be between 0 and {MAX_LIMIT}")
    v.check(
        0 <= code.min_price_minor <= MAX_AMOUNT_MINOR,
        "discount_code.min_price_minor",
        f"must be between 0 and {MAX_AMOUNT_MINOR}",
    )
    _check_product_ids(v, code.product_ids)


def _check_product_ids(v: Violations, product_ids: tuple[str, ...]) -> None:
    v.check(
        len(product_ids) <= MAX_PRODUCT_IDS,
        "discount_code.product_ids",
        f"must list at most {MAX_PRODUCT_IDS}",
    )
    v.check(len(set(product_ids)) == len(product_ids), "discount_code.product_ids", "has duplicates")
    for i, product_id in enumerate(product_ids):
        check_product_id(v, product_id, f"discount_code.product_ids[{i}]")


def check_ttl(v: Violations, ttl_seconds: int) -> None:
    v.check(
        MIN_RESERVATION_TTL_S <= ttl_seconds <= MAX_RESERVATION_TTL_S,
        "ttl_seconds",
        f"must be between {MIN_RESERVATION_TTL_S} and {MAX_RESERVATION_TTL_S}",
    )
