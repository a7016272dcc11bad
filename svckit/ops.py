"""OpsService: the operator actions every service mounts beside its own API (see protos/ops/v1)."""

from __future__ import annotations

from ops.v1 import ops_service_pb2 as pb
from ops.v1 import ops_service_pb2_grpc

from svckit.data_guard import DataGuard, DataLoss
from svckit.errors import Violations
from svckit.identity import current_caller
from svckit.timestamps import timestamp_from_ms
from svckit.validation import check_text

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["OpsService"].full_name
_MAX_NOTE_CHARS = 500


class OpsServicer(ops_service_pb2_grpc.OpsServiceServicer):
    def __init__(self, guard: DataGuard) -> None:
        self._guard = guard

    async def GetDataIntegrity(self, request, context) -> pb.GetDataIntegrityResponse:
        loss = self._guard.loss
        return pb.GetDataIntegrityResponse(
            data_loss=_data_loss(loss) if loss else None, epoch=self._guard.epoch
        )

    async def AcknowledgeDataLoss(self, request, context) -> pb.AcknowledgeDataLossResponse:
        v = Violations()
        check_text(v, request.note, "note", max_chars=_MAX_NOTE_CHARS, required=True)
        v.raise_if_any()
        loss, epoch = await self._guard.acknowledge(request.note, current_caller().name)
        return pb.AcknowledgeDataLossResponse(acknowledged=_data_loss(loss), epoch=epoch)


def _data_loss(loss: DataLoss) -> pb.DataLoss:
    return pb.DataLoss(
        evidence=loss.evidence, detail=loss.detail, detect_time=timestamp_from_ms(loss.detected_ms)
    )
