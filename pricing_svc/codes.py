"""Discount codes: names, definitions and their validation, counts, and reservations."""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, replace

from pricing_svc import money
from pricing_svc.catalogue import PRODUCT_ID_RE
from svckit.errors import Violations
from svckit.validation import MAX_AMOUNT_MINOR

CODE_RE = re.compile(r"[A-Za-z0-9_-]{3,32}")
PERCENT = "PERCENT"
FIXED = "FIXED"
MAX_LIMIT = 10**9
MAX_PRODUCT_IDS = 100
MIN_RESERVATION_TTL_S = 60
MAX_RESERVATION_TTL_S = 2 * 24 * 3600


def normalize(v: Violations, value: str, field: str = "code") -> str:
    """Codes are case-insensitive: 3-32 characters of [A-Za-z0-9_-], kept upper case."""
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
        """The stored form; the Lua script reads its limits from it."""
        return json.dumps(asdict(self), sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_json(cls, raw: str | bytes) -> DiscountCode:
        fields = json.loads(raw)
        # cjson has no empty array: a script's copy of [] may come back as {}.
        return cls(**{**fields, "product_ids": tuple(fields["product_ids"] or ())})

    def terms_json(self) -> str:
        """Everything a creator chose, for spotting a reused request id; not the creation time."""
        return replace(self, create_ms=0).to_json()


@dataclass(frozen=True)
class CodeState:
    """A code as the admin API shows it: definition, disabled flag and redemption counts."""

    definition: DiscountCode
    disabled: bool
    reserved_count: int
    redeemed_count: int


@dataclass(frozen=True)
class Reservation:
    code: str
    order_id: str
    account_id: str
    status: str
    expire_ms: int


def check_new(v: Violations, code: DiscountCode) -> None:
    """Adds a violation for every bad field of a code to create."""
    normalize(v, code.code, "discount_code.code")
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
        v.check(
            code.currency in money.MIN_CHARGE_MINOR,
            "discount_code.currency",
            f"must be one of {', '.join(sorted(money.MIN_CHARGE_MINOR))}",
        )
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
    v.check(
        len(code.product_ids) <= MAX_PRODUCT_IDS,
        "discount_code.product_ids",
        f"must list at most {MAX_PRODUCT_IDS}",
    )
    v.check(
        len(set(code.product_ids)) == len(code.product_ids), "discount_code.product_ids", "has duplicates"
    )
    for i, product_id in enumerate(code.product_ids):
        v.check(
            bool(PRODUCT_ID_RE.fullmatch(product_id)),
            f"discount_code.product_ids[{i}]",
            "must be 1-64 characters of [a-z0-9_-]",
        )


def check_ttl(v: Violations, ttl_seconds: int) -> None:
    v.check(
        MIN_RESERVATION_TTL_S <= ttl_seconds <= MAX_RESERVATION_TTL_S,
        "ttl_seconds",
        f"must be between {MIN_RESERVATION_TTL_S} and {MAX_RESERVATION_TTL_S}",
    )
