"""Builds the balance_svc gRPC server."""

from balance.v1 import balance_service_pb2, balance_service_pb2_grpc

from balance_svc.config import Settings
from balance_svc.ledger import Ledger
from balance_svc.service import BalanceServicer
from balance_svc.store import BalanceStore
from svckit.clock import Clock, SystemClock
from svckit.data_guard import DataGuard
from svckit.redis_client import connect, script_pipe
from svckit.server import AppServer, ServiceBinding, build_server

SERVICE_NAME = balance_service_pb2.DESCRIPTOR.services_by_name["BalanceService"].full_name


async def create_server(settings: Settings, *, clock: Clock | None = None) -> tuple[AppServer, int]:
    """`clock` lets tests move time across hold expiries; it defaults to the system clock."""
    redis = connect(settings)
    pipe = script_pipe(redis)  # the scripts' calls share writes; None on a Cluster
    ledger = Ledger(BalanceStore(redis, settings, pipe), clock or SystemClock())
    binding = ServiceBinding(
        balance_service_pb2_grpc.add_BalanceServiceServicer_to_server,
        BalanceServicer(ledger),
        SERVICE_NAME,
    )
    return build_server(
        settings,
        port=settings.balance_port,
        services=[binding],
        domain="balance.v1",
        data_guard=DataGuard(redis, "balance"),
        on_stop=[redis.aclose] if pipe is None else [pipe.aclose, redis.aclose],
    )
