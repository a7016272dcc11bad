"""Client of ops.v1.OpsService, which every service serves: lost Redis data and its acknowledgement."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from ops.v1 import ops_service_pb2 as ops
from ops.v1 import ops_service_pb2_grpc

from priceledger_client.base import ServiceClient


class OpsClient(ServiceClient):
    """Both methods need the admin role. Give the address of the service to ask (pricing, balance or
    payment); without one, balance_svc's."""

    addr_setting = "balance_service_addr"
    stub_class = ops_service_pb2_grpc.OpsServiceStub
    deadlines_s: ClassVar[Mapping[str, float]] = {"GetDataIntegrity": 3.0, "AcknowledgeDataLoss": 5.0}

    async def get_data_integrity(self, *, timeout_s: float | None = None) -> ops.GetDataIntegrityResponse:
        return await self._call("GetDataIntegrity", ops.GetDataIntegrityRequest(), timeout_s)

    async def acknowledge_data_loss(
        self, note: str, *, timeout_s: float | None = None
    ) -> ops.AcknowledgeDataLossResponse:
        """Accepts the data Redis holds now; FAILED_PRECONDITION NO_DATA_LOSS_DETECTED if there is no loss."""
        return await self._call("AcknowledgeDataLoss", ops.AcknowledgeDataLossRequest(note=note), timeout_s)
