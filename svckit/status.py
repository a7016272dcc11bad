"""Turns a ServiceError into a gRPC status with google.rpc.ErrorInfo (and BadRequest for bad fields)."""

from __future__ import annotations

import grpc
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from svckit.errors import ServiceError

# The status travels in trailers, and gRPC clients drop trailers over 16 KiB (RESOURCE_EXHAUSTED, no
# ErrorInfo): a request with thousands of bad items must not echo them all back.
_MAX_MESSAGE_CHARS = 500
_MAX_VIOLATIONS = 10
_MAX_TEXT_CHARS = 120


def to_grpc_status(error: ServiceError, domain: str) -> grpc.Status:
    metadata = {k[:_MAX_TEXT_CHARS]: _cut(v) for k, v in error.metadata.items()}
    info = error_details_pb2.ErrorInfo(reason=error.reason, domain=domain, metadata=metadata)
    details = [_pack(info)]
    if error.field_violations:
        violations = [(_cut(f), _cut(d)) for f, d in error.field_violations[:_MAX_VIOLATIONS]]
        if len(error.field_violations) > _MAX_VIOLATIONS:
            violations.append(("", f"and {len(error.field_violations) - _MAX_VIOLATIONS} more violations"))
        bad = error_details_pb2.BadRequest(
            field_violations=[
                error_details_pb2.BadRequest.FieldViolation(field=f, description=d) for f, d in violations
            ]
        )
        details.append(_pack(bad))
    message = _cut(error.message, _MAX_MESSAGE_CHARS)
    status = status_pb2.Status(code=code_pb2.Code.Value(error.code), message=message, details=details)
    return rpc_status.to_status(status)


def _cut(text: str, limit: int = _MAX_TEXT_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def error_info(call_error: grpc.aio.AioRpcError | grpc.RpcError) -> error_details_pb2.ErrorInfo | None:
    """The ErrorInfo a peer sent with an error, if any."""
    status = rpc_status.from_call(call_error)
    for detail in status.details if status else ():
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            return info
    return None


def _pack(message) -> any_pb2.Any:
    packed = any_pb2.Any()
    packed.Pack(message)
    return packed
