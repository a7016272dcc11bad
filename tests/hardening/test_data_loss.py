"""A Redis that comes back empty is noticed: NOT_SERVING, reads go on, mutations wait for an operator."""

from __future__ import annotations

import asyncio

import grpc
import pytest
import redis
from grpc_health.v1 import health_pb2, health_pb2_grpc
from ops.v1 import ops_service_pb2 as ops
from ops.v1 import ops_service_pb2_grpc
from pricing.v1 import pricing_service_pb2 as pri
from pricing.v1 import pricing_service_pb2_grpc
from prometheus_client import REGISTRY

from svckit.data_guard import DataGuard
from svckit.server import mutating_methods
from tests.conftest import ADMIN_METADATA
from tests.hardening.support import REDIS_CALLS, SERVICES, invoke, reason, settings_for

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


async def _health_becomes(channel: grpc.aio.Channel, wanted: int) -> int:
    stub = health_pb2_grpc.HealthStub(channel)
    for _ in range(100):
        status = (await stub.Check(health_pb2.HealthCheckRequest())).status
        if status == wanted:
            break
        await asyncio.sleep(0.05)
    return status


def _flushall(single_redis: dict[str, str]) -> None:
    with redis.Redis.from_url(single_redis["redis_url"]) as client:
        client.flushall()


async def _acknowledge(channel, note="INC-42: volume lost, restored nothing", metadata=ADMIN_METADATA):
    stub = ops_service_pb2_grpc.OpsServiceStub(channel)
    try:
        return await stub.AcknowledgeDataLoss(ops.AcknowledgeDataLossRequest(note=note), metadata=metadata)
    except grpc.aio.AioRpcError as err:
        return err


@pytest.mark.parametrize("service", SERVICES)
async def test_lost_data_holds_mutations_until_an_operator_acknowledges(
    service, single_redis, start_server, channel_to
):
    channel = channel_to(await start_server(SERVICES[service][0], settings_for(service, single_redis)))
    read, mutation = REDIS_CALLS[service]
    assert await _health_becomes(channel, SERVING) == SERVING
    assert reason(await invoke(channel, mutation)) != "DATA_LOSS_UNACKNOWLEDGED"

    _flushall(single_redis)
    assert await _health_becomes(channel, NOT_SERVING) == NOT_SERVING
    refused = await invoke(channel, mutation)
    assert (refused.code(), reason(refused)) == (grpc.StatusCode.UNAVAILABLE, "DATA_LOSS_UNACKNOWLEDGED")
    assert reason(await invoke(channel, read)) != "DATA_LOSS_UNACKNOWLEDGED"
    integrity = await ops_service_pb2_grpc.OpsServiceStub(channel).GetDataIntegrity(
        ops.GetDataIntegrityRequest(), metadata=ADMIN_METADATA
    )
    assert integrity.data_loss.evidence == "EPOCH_MISSING"

    assert (await _acknowledge(channel, metadata=None)).code() == grpc.StatusCode.UNAUTHENTICATED
    assert (await _acknowledge(channel, note="")).code() == grpc.StatusCode.INVALID_ARGUMENT
    assert (await _acknowledge(channel, note="ok\x00")).code() == grpc.StatusCode.INVALID_ARGUMENT
    acknowledged = await _acknowledge(channel)
    assert acknowledged.acknowledged.evidence == "EPOCH_MISSING"
    assert await _health_becomes(channel, SERVING) == SERVING
    assert reason(await invoke(channel, mutation)) != "DATA_LOSS_UNACKNOWLEDGED"
    again = await _acknowledge(channel)
    assert (again.code(), reason(again)) == (grpc.StatusCode.FAILED_PRECONDITION, "NO_DATA_LOSS_DETECTED")


async def test_an_acknowledgement_on_one_process_clears_every_process_that_saw_the_loss(
    single_redis, start_server, channel_to
):
    create = SERVICES["balance"][0]
    settings = settings_for("balance", single_redis)
    first, second = [channel_to(await start_server(create, settings)) for _ in range(2)]
    _flushall(single_redis)
    for channel in (first, second):
        assert await _health_becomes(channel, NOT_SERVING) == NOT_SERVING
    late = channel_to(await start_server(create, settings))  # started on the data as it is now

    assert not isinstance(await _acknowledge(first), grpc.aio.AioRpcError)
    for channel in (first, second, late):
        assert await _health_becomes(channel, SERVING) == SERVING
        assert reason(await invoke(channel, REDIS_CALLS["balance"][1])) != "DATA_LOSS_UNACKNOWLEDGED"


async def test_code_can_report_loss_and_hears_of_the_acknowledgement(single_redis, channel_to):
    app, port = await SERVICES["pricing"][0](settings_for("pricing", single_redis))
    await app.start()
    try:
        heard = []
        app.data_guard.on_acknowledged(lambda: heard.append("acknowledged"))
        app.data_guard.report_loss("CONFIG_VERSION_WENT_BACKWARDS", "held 7, Redis has 3")
        channel = channel_to(f"127.0.0.1:{port}")
        assert reason(await invoke(channel, REDIS_CALLS["pricing"][1])) == "DATA_LOSS_UNACKNOWLEDGED"
        assert (await _acknowledge(channel)).acknowledged.evidence == "CONFIG_VERSION_WENT_BACKWARDS"
        assert heard == ["acknowledged"]
        assert reason(await invoke(channel, REDIS_CALLS["pricing"][1])) != "DATA_LOSS_UNACKNOWLEDGED"
    finally:
        await app.stop(0)


def test_only_reads_are_served_while_a_loss_is_unacknowledged():
    held = {path.rsplit("/", 1)[1] for path in mutating_methods(full for *_, full in SERVICES.values())}
    assert held == {
        *("Credit", "Debit", "CreateHold", "CaptureHold", "ReleaseHold", "SetLowBalanceThreshold"),
        *("UpdatePricingConfig", "CreateDiscountCode", "DisableDiscountCode"),
        *("ReserveDiscountCode", "ConfirmDiscountCode", "ReleaseDiscountCode"),
        *("CreateCheckoutSession", "CreateTopUpSession", "TopUpWithSavedCard", "ConfigureAutoTopUp"),
        *("RefundOrder", "HandleStripeEvent"),
    }


async def _launch_price(stub: pricing_service_pb2_grpc.PricingServiceStub) -> int:
    quote = await stub.GetQuote(pri.GetQuoteRequest(product_id="launch-product"))
    return quote.quote.final_amount_minor


async def test_pricing_keeps_its_last_config_when_redis_comes_back_empty_until_acknowledged(
    single_redis, start_server, channel_to
):
    settings = settings_for("pricing", single_redis, pricing_config_refresh_ms=20)
    channel = channel_to(await start_server(SERVICES["pricing"][0], settings))
    stub = pricing_service_pb2_grpc.PricingServiceStub(channel)
    config = (await stub.GetPricingConfig(pri.GetPricingConfigRequest(), metadata=ADMIN_METADATA)).config
    product = config.products[0]
    product.launch_price_minor = 1999
    await stub.UpdatePricingConfig(
        pri.UpdatePricingConfigRequest(
            products=[product], expected_version=config.version, request_id="data-loss-1999"
        ),
        metadata=ADMIN_METADATA,
    )
    assert await _launch_price(stub) == 1999

    _flushall(single_redis)  # Redis now holds no config: version 0, the built-in launch price 2999
    assert await _health_becomes(channel, NOT_SERVING) == NOT_SERVING
    await asyncio.sleep(0.2)  # several refreshes
    assert await _launch_price(stub) == 1999  # the last config it held, not the built-in one

    assert not isinstance(await _acknowledge(channel), grpc.aio.AioRpcError)
    for _ in range(100):
        if await _launch_price(stub) == 2999:
            break
        await asyncio.sleep(0.05)
    assert await _launch_price(stub) == 2999  # acknowledged: Redis's config is the truth again


def test_each_detected_loss_counts_once_for_the_data_loss_alert():
    def detections() -> float:
        return REGISTRY.get_sample_value("redis_data_loss_detections_total") or 0.0

    before = detections()
    guard = DataGuard(redis=None, service="counted")
    guard.report_loss("EPOCH_MISSING", "gone")
    guard.report_loss("EPOCH_CHANGED", "again, while the first is unacknowledged")
    assert detections() - before == 1
