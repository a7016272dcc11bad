"""ops.v1's ErrorReason enum names exactly the reasons that svckit itself gives."""

from __future__ import annotations

from ops.v1 import ops_service_pb2

from svckit import interceptors
from svckit.data_guard import DataLossUnacknowledged, NoDataLossDetected
from svckit.errors import RoleMissing
from svckit.replica_acks import ReplicationUnconfirmed


def test_ops_error_reason_enum_matches_svckit_reasons():
    in_proto = {
        name.removeprefix("ERROR_REASON_")
        for name in ops_service_pb2.ErrorReason.keys()
        if name != "ERROR_REASON_UNSPECIFIED"
    }
    in_python = {
        NoDataLossDetected.reason,
        DataLossUnacknowledged.reason,
        interceptors._BackendUnavailable.reason,
        interceptors._RequestUndecodable.reason,
        RoleMissing.reason,
        ReplicationUnconfirmed.reason,
    }
    assert in_proto == in_python
