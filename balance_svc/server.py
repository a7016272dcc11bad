"""Builds the balance_svc gRPC server."""

from balance.v1 import balance_service_pb2, balance_service_pb2_grpc

from balance_svc.config import Settings
from balance_svc.service import BalanceServicer
from svckit.redis_client import connect
from svckit.server import AppServer, ServiceBinding, build_server

SERVICE_NAME = balance_service_pb2.DESCRIPTOR.services_by_name["BalanceService"].full_name


async def create_server(settings: Settings) -> tuple[AppServer, int]:
    redis = connect(settings)
    binding = ServiceBinding(
        balance_service_pb2_grpc.add_BalanceServiceServicer_to_server, BalanceServicer(), SERVICE_NAME
    )
    return build_server(
        settings,
        port=settings.balance_port,
        services=[binding],
        domain="balance.v1",
        probe=redis.ping,
        on_stop=[redis.aclose],
    )
