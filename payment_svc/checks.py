"""Field checks of payment requests, on top of svckit.validation's shared ones."""

from __future__ import annotations

from urllib.parse import urlsplit

from payment_svc.orders import ORDER_ID_RE
from svckit.errors import Violations

MAX_URL_CHARS = 2048  # Stripe accepts longer, but nobody should need them


def check_url(v: Violations, value: str, field: str) -> None:
    parts = urlsplit(value) if len(value) <= MAX_URL_CHARS and value.isprintable() else None
    ok = parts is not None and parts.scheme in ("http", "https") and bool(parts.hostname) and " " not in value
    v.check(ok, field, f"must be an absolute http(s) URL of at most {MAX_URL_CHARS} characters")


def check_blocks(v: Violations, value: int, max_blocks: int, field: str = "blocks") -> None:
    v.check(1 <= value <= max_blocks, field, f"must be between 1 and {max_blocks}")


def check_order_id(v: Violations, value: str, field: str = "order_id") -> None:
    v.check(
        bool(ORDER_ID_RE.fullmatch(value)), field, "must be an order id like ord_0123456789abcdef01234567"
    )
