"""Named service errors that domain code raises; grpc-free so domain modules stay transport-agnostic."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar


class ServiceError(Exception):
    """Base of every error a client may see; `code` names a grpc.StatusCode, `reason` is ErrorInfo's."""

    code: ClassVar[str] = "INTERNAL"
    reason: ClassVar[str] = "INTERNAL"

    def __init__(
        self,
        message: str | None = None,
        *,
        metadata: Mapping[str, str] | None = None,
        field_violations: tuple[tuple[str, str], ...] = (),
    ) -> None:
        super().__init__(message or self.reason.lower().replace("_", " "))
        self.message = str(self.args[0])
        self.metadata = {k: str(v) for k, v in (metadata or {}).items()}
        self.field_violations = field_violations


class InvalidArgument(ServiceError):
    code = "INVALID_ARGUMENT"
    reason = "INVALID_ARGUMENT"


class NotFound(ServiceError):
    code = "NOT_FOUND"
    reason = "NOT_FOUND"


class AlreadyExists(ServiceError):
    code = "ALREADY_EXISTS"
    reason = "ALREADY_EXISTS"


class FailedPrecondition(ServiceError):
    code = "FAILED_PRECONDITION"
    reason = "FAILED_PRECONDITION"


class Aborted(ServiceError):
    code = "ABORTED"
    reason = "ABORTED"


class Unavailable(ServiceError):
    code = "UNAVAILABLE"
    reason = "UNAVAILABLE"


class Unauthenticated(ServiceError):
    code = "UNAUTHENTICATED"
    reason = "ADMIN_TOKEN_MISSING"


class PermissionDenied(ServiceError):
    code = "PERMISSION_DENIED"
    reason = "ADMIN_TOKEN_INVALID"


class AdminDisabled(PermissionDenied):
    """A bearer token came but none is configured (no BEARER_TOKENS, no ADMIN_TOKEN): closed, never open."""

    reason = "ADMIN_DISABLED"


class RoleMissing(PermissionDenied):
    """The caller has an identity, but not a role the method's access policy asks for."""

    reason = "ROLE_MISSING"


class RequestIdReused(FailedPrecondition):
    """The same idempotency key came back with different parameters (AIP-155)."""

    reason = "REQUEST_ID_REUSED"


class Violations:
    """Collects every bad field of a request so one INVALID_ARGUMENT names them all."""

    def __init__(self) -> None:
        self._items: list[tuple[str, str]] = []

    def add(self, field: str, description: str) -> None:
        self._items.append((field, description))

    def check(self, ok: bool, field: str, description: str) -> None:
        if not ok:
            self.add(field, description)

    def raise_if_any(self) -> None:
        if self._items:
            summary = "; ".join(f"{f}: {d}" for f, d in self._items)
            raise InvalidArgument(summary, field_violations=tuple(self._items))
