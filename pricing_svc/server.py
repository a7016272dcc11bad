"""Builds the pricing_svc gRPC server."""

from pricing.v1 import pricing_service_pb2, pricing_service_pb2_grpc

from pricing_svc.config import Settings
from pricing_svc.service import PricingServicer
from svckit.redis_client import connect
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


async def create_server(settings: Settings) -> tuple[AppServer, int]:
    redis = connect(settings)
    binding = ServiceBinding(
        pricing_service_pb2_grpc.add_PricingServiceServicer_to_server, PricingServicer(), SERVICE_NAME
    )
    return build_server(
        settings,
        port=settings.pricing_port,
        services=[binding],
        domain="pricing.v1",
        admin_methods=ADMIN_METHODS,
        probe=redis.ping,
        on_stop=[redis.aclose],
    )
