"""Builds the pricing_svc gRPC server."""

from pricing.v1 import pricing_service_pb2, pricing_service_pb2_grpc

from pricing_svc.catalogue_cache import CatalogueCache
from pricing_svc.catalogue_store import CatalogueStore
from pricing_svc.code_store import CodeStore
from pricing_svc.price_book import PriceBook
from pricing_svc.redemptions import Redemptions
from pricing_svc.service import PricingServicer
from pricing_svc.settings import Settings
from svckit.clock import Clock, SystemClock
from svckit.data_guard import DataGuard
from svckit.redis_client import connect, register_scripts, script_pipe
from svckit.server import AppServer, ServiceBinding, build_server

_SERVICE = pricing_service_pb2.DESCRIPTOR.services_by_name["PricingService"]
SERVICE_NAME = _SERVICE.full_name


async def create_server(settings: Settings, *, clock: Clock | None = None) -> tuple[AppServer, int]:
    """`clock` lets tests move time across expiries and sale windows; it defaults to the system clock."""
    redis = connect(settings)
    pipe = script_pipe(redis)  # the scripts' calls share writes; None on a Cluster
    clock = clock or SystemClock()
    request_ttl_ms = settings.pricing_request_id_ttl_s * 1000
    catalogue = CatalogueStore(
        redis, register_scripts(redis, "pricing_svc", pipe)["update_config"], request_ttl_ms=request_ttl_ms
    )
    guard = DataGuard(redis, "pricing")
    cache = CatalogueCache(
        catalogue, refresh_ms=settings.pricing_config_refresh_ms, report_loss=guard.report_loss
    )
    guard.on_acknowledged(cache.accept_redis_as_it_is)
    codes = CodeStore(
        redis,
        pipe,
        request_ttl_ms=request_ttl_ms,
        order_retention_ms=settings.pricing_reservation_retention_s * 1000,
    )
    prices = PriceBook(cache, catalogue, codes, clock)
    servicer = PricingServicer(prices, Redemptions(codes, prices, clock))
    binding = ServiceBinding(
        pricing_service_pb2_grpc.add_PricingServiceServicer_to_server, servicer, SERVICE_NAME
    )
    return build_server(
        settings,
        port=settings.pricing_port,
        services=[binding],
        domain="pricing.v1",
        data_guard=guard,
        on_start=[cache.start],
        on_stop=[cache.stop, redis.aclose] if pipe is None else [cache.stop, pipe.aclose, redis.aclose],
    )
