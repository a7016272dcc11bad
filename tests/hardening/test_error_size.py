"""A request with thousands of bad items still gets its ErrorInfo: the status fits gRPC's trailer limit."""

from __future__ import annotations

import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from pricing.v1 import pricing_service_pb2 as pri

from tests.hardening.support import SERVICES, Call, invoke, reason, settings_for


async def test_thousands_of_bad_items_get_invalid_argument_with_error_info(
    single_redis, start_server, channel_to
):
    channel = channel_to(await start_server(SERVICES["pricing"][0], settings_for("pricing", single_redis)))
    bad = pri.Product(product_id="p\x00" * 50, display_name="\x1b" * 200, currency="ZZZ")
    request = pri.UpdatePricingConfigRequest(products=[bad] * 2000)
    update = Call("/pricing.v1.PricingService/UpdatePricingConfig", request, admin=True)
    result = await invoke(channel, update)

    assert isinstance(result, grpc.aio.AioRpcError)
    assert (result.code(), reason(result)) == (grpc.StatusCode.INVALID_ARGUMENT, "INVALID_ARGUMENT")
    details = rpc_status.from_call(result).details
    bad_request = error_details_pb2.BadRequest()
    assert next(d for d in details if d.Is(bad_request.DESCRIPTOR)).Unpack(bad_request)
    assert bad_request.field_violations[-1].description.startswith("and ")  # the rest are counted
