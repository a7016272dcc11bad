"""Builds the pricing_svc gRPC server."""

from pricing.v1 import pricing_service_pb2, pricing_service_pb2_grpc

from pricing_svc.code_store import CodeStore
from pricing_svc.config import Settings
from pricing_svc.config_cache import ConfigCache
from pricing_svc.config_store import ConfigStore
from pricing_svc.service import PricingServicer
from svckit.clock import Clock, SystemClock
from svckit.data_guard import DataGuard
from svckit.redis_client import connect, register_scripts, script_pipe
from svckit.server import AppServer, ServiceBinding, build_server

_SERVICE = pricing_service_pb2.DESCRIPTOR.services_by_name["PricingService"]
SERVICE_NAME = _SERVICE.full_name
ADMIN_METHODS = frozenset(
    f"/{SERVICE_NAME}/{name}"
    for name in (
        "GetPricingConfig",
        "UpdatePricingConfig",
        "ListPricingConfigChanges",
        "CreateDiscountCode",
        "GetDiscountCode",
        "ListDiscountCodes",
        "DisableDiscountCode",
    )
)


async def create_server(settings: Settings, *, clock: Clock | None = None) -> tuple[AppServer, int]:
    redis = connect(settings)
    pipe = script_pipe(redis)  # the scripts' calls share writes; None on a Cluster
    scripts = register_scripts(redis, "pricing_svc", pipe)
    config = ConfigStore(redis, scripts["update_config"])
    cache = ConfigCache(config, refresh_ms=settings.pricing_config_refresh_ms)
    servicer = PricingServicer(
        cache, config, CodeStore(redis, scripts["discount_code"]), clock or SystemClock()
    )
    binding = ServiceBinding(
        pricing_service_pb2_grpc.add_PricingServiceServicer_to_server, servicer, SERVICE_NAME
    )
    return build_server(
        settings,
        port=settings.pricing_port,
        services=[binding],
        domain="pricing.v1",
        admin_methods=ADMIN_METHODS,
        data_guard=DataGuard(redis, "pricing"),
        on_start=[cache.start],
        on_stop=[cache.stop, redis.aclose] if pipe is None else [cache.stop, pipe.aclose, redis.aclose],
    )
