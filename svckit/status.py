"""Turns a ServiceError into a gRPC status with google.rpc.ErrorInfo (and BadRequest for bad fields)."""

from __future__ import annotations

import grpc
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from svckit.errors import ServiceError


def to_grpc_status(error: ServiceError, domain: str) -> grpc.Status:
    info = error_details_pb2.ErrorInfo(reason=error.reason, domain=domain, metadata=error.metadata)
    details = [_pack(info)]
    if error.field_violations:
        bad = error_details_pb2.BadRequest(
            field_violations=[
                error_details_pb2.BadRequest.FieldViolation(field=f, description=d)
                for f, d in error.field_violations
            ]
        )
        details.append(_pack(bad))
    status = status_pb2.Status(code=code_pb2.Code.Value(error.code), message=error.message, details=details)
    return rpc_status.to_status(status)


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
