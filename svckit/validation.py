"""Field checks shared by all services: ids, idempotency keys, currencies, amounts and free text."""

from __future__ import annotations

import re

from svckit.currencies import is_money_currency
from svckit.errors import Violations

ACCOUNT_ID_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")
REQUEST_ID_RE = re.compile(r"[\x21-\x7e]{1,128}")

# Largest amount one operation may carry: $10bn in cents, far below 2^53 so
# Lua's double arithmetic stays exact even after summing many of them.
MAX_AMOUNT_MINOR = 10**12


def check_account_id(v: Violations, value: str, field: str = "account_id") -> None:
    v.check(bool(ACCOUNT_ID_RE.fullmatch(value)), field, "must be 1-64 characters of [A-Za-z0-9_-]")


def check_request_id(v: Violations, value: str, field: str = "request_id") -> None:
    v.check(bool(REQUEST_ID_RE.fullmatch(value)), field, "must be 1-128 printable ASCII characters")


def check_amount(v: Violations, value: int, field: str = "amount_minor") -> None:
    v.check(0 < value <= MAX_AMOUNT_MINOR, field, f"must be between 1 and {MAX_AMOUNT_MINOR}")


def check_currency(v: Violations, value: str, field: str = "currency") -> None:
    v.check(is_money_currency(value), field, "must be an ISO 4217 currency code with a minor unit, like USD")


# Cc (controls, NUL included) and the line/paragraph separators: they break logs, CSVs and receipts.
_UNPRINTABLE_RE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def check_text(v: Violations, value: str, field: str, *, max_chars: int, required: bool = False) -> None:
    """Free text (display names, references, reasons): bounded length, no control characters."""
    if required and not value:
        v.add(field, "must not be empty")
    elif len(value) > max_chars:
        v.add(field, f"must be at most {max_chars} characters")
    elif _UNPRINTABLE_RE.search(value):
        v.add(field, "must not contain control characters")
