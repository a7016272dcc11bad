"""Page sizes and opaque page tokens for the List methods (AIP-158)."""

from __future__ import annotations

import base64
import binascii

from svckit.errors import Violations

_PREFIX = "pricing.v1:"


def page_size(v: Violations, value: int, *, default: int, maximum: int) -> int:
    v.check(0 <= value <= maximum, "page_size", f"must be between 0 and {maximum}")
    return value or default


def encode_token(position: str) -> str:
    return base64.urlsafe_b64encode((_PREFIX + position).encode()).decode()


def decode_token(v: Violations, token: str) -> str:
    """The position a token names; "" for no token."""
    if not token:
        return ""
    try:
        decoded = base64.urlsafe_b64decode(token.encode()).decode()
    except (binascii.Error, UnicodeError, ValueError):
        decoded = ""
    if not decoded.startswith(_PREFIX) or len(decoded) == len(_PREFIX):
        v.add("page_token", "is not a token from a previous response")
        return ""
    return decoded.removeprefix(_PREFIX)
