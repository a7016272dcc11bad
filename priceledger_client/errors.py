"""Typed exceptions for failed calls, carrying the status code, ErrorInfo reason and field violations."""

from __future__ import annotations

from dataclasses import dataclass

import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status


@dataclass(frozen=True)
class FieldViolation:
    """One bad request field, from google.rpc.BadRequest."""

    field: str
    description: str


# Failures about the moment rather than the request; ABORTED wants a fresh read before the next try.
TRANSIENT_CODES = frozenset(
    {
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.DEADLINE_EXCEEDED,
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        grpc.StatusCode.ABORTED,
        grpc.StatusCode.CANCELLED,
        grpc.StatusCode.INTERNAL,
        grpc.StatusCode.UNKNOWN,
        grpc.StatusCode.UNIMPLEMENTED,
    }
)


class ClientError(Exception):
    """A call that failed; `reason` is the ErrorInfo reason, or the code's name when the server sent none.

    `request_id` is the idempotency key the call carried (None for reads): re-send a failed mutation
    with it to retry safely. `transient` says the failure is about the moment rather than the request,
    so trying again later may succeed.
    """

    code: grpc.StatusCode = grpc.StatusCode.UNKNOWN

    def __init__(
        self,
        message: str,
        *,
        reason: str = "",
        domain: str = "",
        metadata: dict[str, str] | None = None,
        field_violations: tuple[FieldViolation, ...] = (),
        method: str = "",
        request_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason or self.code.name
        self.domain = domain
        self.metadata = metadata or {}
        self.field_violations = field_violations
        self.method = method
        self.request_id = request_id

    @property
    def transient(self) -> bool:
        return self.code in TRANSIENT_CODES

    def __str__(self) -> str:
        """One line: code, reason, message and every field violation."""
        line = f"{self.code.name} {self.reason}: {self.message}"
        if self.field_violations:
            line += " [" + "; ".join(f"{v.field}: {v.description}" for v in self.field_violations) + "]"
        return line


class InvalidArgument(ClientError):
    code = grpc.StatusCode.INVALID_ARGUMENT


class NotFound(ClientError):
    code = grpc.StatusCode.NOT_FOUND


class AlreadyExists(ClientError):
    code = grpc.StatusCode.ALREADY_EXISTS


class FailedPrecondition(ClientError):
    code = grpc.StatusCode.FAILED_PRECONDITION


class OutOfRange(ClientError):
    code = grpc.StatusCode.OUT_OF_RANGE


class Unauthenticated(ClientError):
    code = grpc.StatusCode.UNAUTHENTICATED


class PermissionDenied(ClientError):
    code = grpc.StatusCode.PERMISSION_DENIED


class DataLoss(ClientError):
    code = grpc.StatusCode.DATA_LOSS


class Aborted(ClientError):
    """A concurrent change won (e.g. a stale expected_version): re-read, then try again."""

    code = grpc.StatusCode.ABORTED


class Unavailable(ClientError):
    """Still UNAVAILABLE after the channel's retries."""

    code = grpc.StatusCode.UNAVAILABLE


class DeadlineExceeded(ClientError):
    """The deadline passed; a mutation may or may not have been applied, so retry it with its request_id."""

    code = grpc.StatusCode.DEADLINE_EXCEEDED


class ResourceExhausted(ClientError):
    code = grpc.StatusCode.RESOURCE_EXHAUSTED


class Cancelled(ClientError):
    code = grpc.StatusCode.CANCELLED


class Internal(ClientError):
    code = grpc.StatusCode.INTERNAL


class Unimplemented(ClientError):
    """The server does not know the method yet, e.g. during a rolling deploy."""

    code = grpc.StatusCode.UNIMPLEMENTED


class Unknown(ClientError):
    code = grpc.StatusCode.UNKNOWN


_BY_CODE: dict[grpc.StatusCode, type[ClientError]] = {cls.code: cls for cls in ClientError.__subclasses__()}


def from_rpc_error(err: grpc.aio.AioRpcError, method: str, request_id: str | None) -> ClientError:
    """The typed exception for a failed call, with the google.rpc.Status details the server attached."""
    info, violations = _details(err)
    cls = _BY_CODE.get(err.code(), Unknown)
    return cls(
        err.details() or err.code().name,
        reason=info.reason if info else "",
        domain=info.domain if info else "",
        metadata=dict(info.metadata) if info else {},
        field_violations=violations,
        method=method,
        request_id=request_id,
    )


def _details(
    err: grpc.aio.AioRpcError,
) -> tuple[error_details_pb2.ErrorInfo | None, tuple[FieldViolation, ...]]:
    try:
        status = rpc_status.from_call(err)
    except ValueError:  # details that contradict the call's own code or message are not trusted
        return None, ()
    info = None
    violations: list[FieldViolation] = []
    for detail in status.details if status else ():
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
        elif detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            detail.Unpack(bad)
            violations += [FieldViolation(v.field, v.description) for v in bad.field_violations]
    return info, tuple(violations)
