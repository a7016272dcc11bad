"""Builds the payment_svc gRPC server."""

import logging

from payment.v1 import payment_service_pb2, payment_service_pb2_grpc

from payment_svc.config import Settings
from payment_svc.service import PaymentServicer
from svckit.redis_client import connect
from svckit.server import AppServer, ServiceBinding, build_server

log = logging.getLogger(__name__)
SERVICE_NAME = payment_service_pb2.DESCRIPTOR.services_by_name["PaymentService"].full_name
ADMIN_METHODS = frozenset({f"/{SERVICE_NAME}/RefundOrder"})


async def create_server(settings: Settings) -> tuple[AppServer, int]:
    if settings.stripe_secret_key is None:
        log.warning("payments not configured: STRIPE_SECRET_KEY is unset; Stripe methods will refuse")
    redis = connect(settings)
    binding = ServiceBinding(
        payment_service_pb2_grpc.add_PaymentServiceServicer_to_server, PaymentServicer(), SERVICE_NAME
    )
    return build_server(
        settings,
        port=settings.payment_port,
        services=[binding],
        domain="payment.v1",
        admin_methods=ADMIN_METHODS,
        probe=redis.ping,
        on_stop=[redis.aclose],
    )
