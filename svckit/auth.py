"""Admin bearer-token checks and caller identity from request metadata."""

from __future__ import annotations

import hmac
from collections.abc import Iterable

from svckit.errors import AdminDisabled, PermissionDenied, Unauthenticated

Metadata = Iterable[tuple[str, str | bytes]]


def require_admin(metadata: Metadata, admin_token: str | None) -> None:
    """Raises unless `authorization: Bearer <admin_token>` is present; compares in constant time."""
    if not admin_token:
        raise AdminDisabled("admin methods are disabled: ADMIN_TOKEN is not configured")
    value = header(metadata, "authorization")
    if value is None:
        raise Unauthenticated("admin method: missing 'authorization: Bearer <token>' metadata")
    scheme, _, token = value.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Unauthenticated("admin method: authorization must be 'Bearer <token>'")
    if not hmac.compare_digest(token.strip().encode(), admin_token.encode()):
        raise PermissionDenied("admin method: the bearer token is not valid")


def caller_id(metadata: Metadata) -> str:
    """Who made a change, for audit trails: `x-caller-id` metadata, else "admin"."""
    return header(metadata, "x-caller-id") or "admin"


def header(metadata: Metadata, key: str) -> str | None:
    for k, value in metadata or ():
        if k == key:
            return value.decode() if isinstance(value, bytes) else value
    return None
