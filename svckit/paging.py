"""Page sizes and opaque page tokens for every List method (AIP-158), one codec for all services."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from svckit.errors import Violations


@dataclass(frozen=True)
class Paging:
    """One List method's paging rules; `namespace` keeps one method's tokens from being fed to another."""

    namespace: str
    default_size: int
    max_size: int

    def page_size(self, v: Violations, value: int) -> int:
        """0 means the default; above the maximum is coerced down (AIP-158), negative is refused."""
        v.check(value >= 0, "page_size", "must not be negative")
        return min(value, self.max_size) or self.default_size

    def encode_token(self, position: str) -> str:
        return base64.urlsafe_b64encode(f"{self.namespace}:{position}".encode()).decode()

    def decode_token(self, v: Violations, token: str) -> str:
        """The position a token names; "" for no token."""
        if not token:
            return ""
        prefix = f"{self.namespace}:"
        try:
            decoded = base64.urlsafe_b64decode(token.encode()).decode()
        except (binascii.Error, UnicodeError, ValueError):
            decoded = ""
        if not decoded.startswith(prefix) or len(decoded) == len(prefix):
            v.add("page_token", "is not a token from a previous response")
            return ""
        return decoded.removeprefix(prefix)
