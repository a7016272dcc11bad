"""Health, reflection, admin auth and error details, checked on all three real servers."""

from __future__ import annotations

import asyncio

import grpc
import pytest
from balance.v1 import balance_service_pb2
from google.protobuf import empty_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)
from payment.v1 import payment_service_pb2
from pricing.v1 import pricing_service_pb2

from balance_svc.config import Settings as BalanceSettings
from balance_svc.server import create_server as create_balance
from devtools.redis_procs import RedisProcess
from payment_svc.config import Settings as PaymentSettings
from payment_svc.server import create_server as create_payment
from pricing_svc.server import create_server as create_pricing
from pricing_svc.settings import Settings as PricingSettings
from svckit.status import error_info
from tests.conftest import ADMIN_METADATA, base_settings

SERVICES = [
    (create_pricing, PricingSettings, pricing_service_pb2, "PricingService"),
    (create_balance, BalanceSettings, balance_service_pb2, "BalanceService"),
    (create_payment, PaymentSettings, payment_service_pb2, "PaymentService"),
]
HEALTH = "grpc.health.v1.Health"
REFLECTION = "grpc.reflection.v1alpha.ServerReflection"
OPS = "ops.v1.OpsService"


async def _health(channel: grpc.aio.Channel, service: str = "") -> int:
    stub = health_pb2_grpc.HealthStub(channel)
    return (await stub.Check(health_pb2.HealthCheckRequest(service=service))).status


async def _wait_for_health(channel, wanted: int, deadline_s: float = 10.0) -> int:
    status = None
    loop = asyncio.get_running_loop()
    end = loop.time() + deadline_s
    while loop.time() < end:
        status = await _health(channel)
        if status == wanted:
            break
        await asyncio.sleep(0.05)
    return status


async def test_health_is_serving_then_not_serving_while_redis_is_down(tmp_path, start_server, channel_to):
    # Durable, so the restarted Redis still holds the deployment epoch (else: data loss, NOT_SERVING).
    with RedisProcess(tmp_path, appendonly=True) as own_redis:
        settings = BalanceSettings(**base_settings(redis_url=own_redis.url))
        channel = channel_to(await start_server(create_balance, settings))
        assert await _health(channel) == health_pb2.HealthCheckResponse.SERVING
        assert await _health(channel, "balance.v1.BalanceService") == health_pb2.HealthCheckResponse.SERVING

        own_redis.stop()
        assert await _wait_for_health(channel, health_pb2.HealthCheckResponse.NOT_SERVING) == (
            health_pb2.HealthCheckResponse.NOT_SERVING
        )
        own_redis.start()
        assert await _wait_for_health(channel, health_pb2.HealthCheckResponse.SERVING) == (
            health_pb2.HealthCheckResponse.SERVING
        )


@pytest.mark.parametrize("create, settings_cls, module, name", SERVICES)
async def test_reflection_lists_the_service_health_and_reflection(
    single_redis, start_server, channel_to, create, settings_cls, module, name
):
    addr = await start_server(create, settings_cls(**base_settings(**single_redis)))
    with grpc.insecure_channel(addr) as sync_channel:
        names = await asyncio.to_thread(
            lambda: set(ProtoReflectionDescriptorDatabase(sync_channel).get_services())
        )
    assert names == {module.DESCRIPTOR.services_by_name[name].full_name, OPS, HEALTH, REFLECTION}


def _admin_call(channel: grpc.aio.Channel, metadata=None):
    method = "/pricing.v1.PricingService/ListPricingConfigChanges"  # an admin-only method
    call = channel.unary_unary(method, request_serializer=empty_pb2.Empty.SerializeToString)
    return call(empty_pb2.Empty(), metadata=metadata)


@pytest.mark.parametrize(
    "token, metadata, code, reason",
    [
        ("configured", None, grpc.StatusCode.UNAUTHENTICATED, "ADMIN_TOKEN_MISSING"),
        (
            "configured",
            (("authorization", "Bearer wrong"),),
            grpc.StatusCode.PERMISSION_DENIED,
            "ADMIN_TOKEN_INVALID",
        ),
        (
            "configured",
            (("authorization", "Basic abc"),),
            grpc.StatusCode.UNAUTHENTICATED,
            "ADMIN_TOKEN_MISSING",
        ),
        (None, ADMIN_METADATA, grpc.StatusCode.PERMISSION_DENIED, "ADMIN_DISABLED"),
    ],
)
async def test_admin_methods_refuse_missing_wrong_or_unconfigured_tokens(
    single_redis, start_server, channel_to, token, metadata, code, reason
):
    overrides = base_settings(**single_redis)
    if token is None:
        overrides["admin_token"] = None
    channel = channel_to(await start_server(create_pricing, PricingSettings(**overrides)))
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await _admin_call(channel, metadata)
    assert err.value.code() == code
    info = error_info(err.value)
    assert info is not None and info.reason == reason and info.domain == "pricing.v1"


async def test_admin_methods_accept_the_configured_token(single_redis, start_server, channel_to):
    channel = channel_to(await start_server(create_pricing, PricingSettings(**base_settings(**single_redis))))
    try:
        await _admin_call(channel, ADMIN_METADATA)
    except grpc.aio.AioRpcError as err:
        assert err.code() not in (grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED)


@pytest.mark.parametrize("create, settings_cls, module, name", SERVICES)
async def test_every_error_status_carries_error_info(
    single_redis, start_server, channel_to, create, settings_cls, module, name
):
    """Empty requests to every RPC: each one that fails must say why in a machine-readable way."""
    channel = channel_to(await start_server(create, settings_cls(**base_settings(**single_redis))))
    service = module.DESCRIPTOR.services_by_name[name]
    failures = 0
    for method in service.methods:
        call = channel.unary_unary(f"/{service.full_name}/{method.name}", request_serializer=lambda m: m)
        try:
            await call(b"", metadata=ADMIN_METADATA)
        except grpc.aio.AioRpcError as err:
            failures += 1
            info = error_info(err)
            assert info is not None, f"{method.name} failed with {err.code()} and no ErrorInfo"
            assert info.domain == f"{name.removesuffix('Service').lower()}.v1" and info.reason.isupper()
    assert failures > 0  # empty requests are invalid for most methods
