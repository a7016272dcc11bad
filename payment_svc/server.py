"""Builds the payment_svc gRPC server, its webhook HTTP endpoint and its background workers."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from payment.v1 import payment_service_pb2, payment_service_pb2_grpc

from payment_svc.auto_top_up import AutoTopUps
from payment_svc.checkout import Checkout
from payment_svc.config import Settings
from payment_svc.customers import Customers
from payment_svc.fulfilment import Fulfilment, OrderEvents
from payment_svc.low_balance_consumer import LowBalanceConsumer
from payment_svc.order_store import OrderStore
from payment_svc.peers import BalanceClient, PricingClient
from payment_svc.reconciler import Reconciler
from payment_svc.refunds import Refunds
from payment_svc.saved_card import SavedCardTopUps
from payment_svc.service import Domain, PaymentServicer
from payment_svc.stripe_gateway import StripeGateway
from payment_svc.webhook_http import WebhookServer
from payment_svc.webhooks import WebhookProcessor
from svckit import tls
from svckit.clock import Clock, SystemClock
from svckit.redis_client import connect
from svckit.server import AppServer, ServiceBinding, build_server, cancel_and_wait

log = logging.getLogger(__name__)
SERVICE_NAME = payment_service_pb2.DESCRIPTOR.services_by_name["PaymentService"].full_name


@dataclass
class PaymentApp:
    """The running parts; tests reach the webhook port and trigger sweeps through it."""

    app: AppServer
    port: int
    webhook: WebhookServer
    reconciler: Reconciler | None
    consumer: LowBalanceConsumer | None
    _tasks: list[asyncio.Task] = field(default_factory=list)

    @property
    def webhook_url(self) -> str:
        return f"http://127.0.0.1:{self.webhook.port}/webhooks/stripe"


def _secrets(settings: Settings) -> list[str]:
    raw = settings.stripe_webhook_secret.get_secret_value() if settings.stripe_webhook_secret else ""
    return [s.strip() for s in raw.split(",") if s.strip()]


async def build(settings: Settings, *, clock: Clock | None = None) -> PaymentApp:
    clock = clock or SystemClock()
    if settings.stripe_secret_key is None:
        log.warning("payments not configured: STRIPE_SECRET_KEY is unset; Stripe methods will refuse")
    secrets = _secrets(settings)
    if not secrets:
        log.warning("webhooks not configured: STRIPE_WEBHOOK_SECRET is unset; every event is refused")
    redis = connect(settings, decode_responses=True)
    stripe = StripeGateway(settings) if settings.stripe_secret_key is not None else None
    credentials = tls.channel_credentials(settings, service="payment")  # calls as the `payment` identity
    pricing = PricingClient(settings.pricing_service_addr, settings.peer_timeout_s, credentials)
    balance = BalanceClient(settings.balance_service_addr, settings.peer_timeout_s, credentials)
    orders = OrderStore(redis)
    customers = Customers(redis, stripe)
    fulfilment = Fulfilment(
        redis=redis,
        orders=orders,
        pricing=pricing,
        balance=balance,
        customers=customers,
        stripe=stripe,
        events=OrderEvents(settings.order_events_stream, settings.order_events_maxlen),
        clock=clock,
    )
    checkout = Checkout(
        settings=settings,
        orders=orders,
        pricing=pricing,
        customers=customers,
        stripe=stripe,
        fulfilment=fulfilment,
        clock=clock,
    )
    saved_card = SavedCardTopUps(
        settings=settings,
        orders=orders,
        customers=customers,
        checkout=checkout,
        fulfilment=fulfilment,
        clock=clock,
    )
    auto_top_ups = AutoTopUps(
        settings=settings, redis=redis, balance=balance, saved_card=saved_card, clock=clock
    )
    webhooks = WebhookProcessor(
        secrets=secrets,
        tolerance_s=settings.webhook_tolerance_s,
        max_body_bytes=settings.webhook_max_body_bytes,
        dedupe_ttl_s=settings.webhook_dedupe_ttl_s,
        redis=redis,
        fulfilment=fulfilment,
    )
    domain = Domain(
        orders=orders,
        checkout=checkout,
        saved_card=saved_card,
        auto_top_ups=auto_top_ups,
        refunds=Refunds(orders=orders, checkout=checkout),
        webhooks=webhooks,
    )
    webhook_server = WebhookServer(
        webhooks,
        host=settings.grpc_host,
        port=settings.webhook_port,
        max_body_bytes=settings.webhook_max_body_bytes,
    )
    reconciler = consumer = None
    if stripe is not None:
        reconciler = Reconciler(
            orders=orders,
            fulfilment=fulfilment,
            stripe=stripe,
            clock=clock,
            after_s=settings.reconcile_after_s,
            batch=settings.reconcile_batch,
        )
        if settings.auto_top_up_consumer:
            consumer = LowBalanceConsumer(
                redis=redis,
                auto_top_ups=auto_top_ups,
                stream=settings.low_balance_stream,
                group=settings.auto_top_up_consumer_group,
                block_ms=settings.auto_top_up_block_ms,
                retry_idle_ms=int(settings.auto_top_up_retry_idle_s * 1000),
            )
    parts: PaymentApp

    async def start_workers() -> None:
        await webhook_server.start()
        if reconciler is not None and settings.reconcile_interval_s > 0:
            parts._tasks.append(asyncio.create_task(reconciler.run(settings.reconcile_interval_s)))
        if consumer is not None:
            parts._tasks.append(asyncio.create_task(consumer.run()))

    async def stop_workers() -> None:
        await cancel_and_wait(parts._tasks)
        await webhook_server.stop()
        await pricing.close()
        await balance.close()
        if stripe is not None:
            await stripe.close()
        await redis.aclose()

    binding = ServiceBinding(
        payment_service_pb2_grpc.add_PaymentServiceServicer_to_server, PaymentServicer(domain), SERVICE_NAME
    )
    app, port = build_server(
        settings,
        port=settings.payment_port,
        services=[binding],
        domain="payment.v1",
        probe=redis.ping,
        on_start=[start_workers],
        on_stop=[stop_workers],
    )
    parts = PaymentApp(app, port, webhook_server, reconciler, consumer)
    return parts


async def create_server(settings: Settings, *, clock: Clock | None = None) -> tuple[AppServer, int]:
    parts = await build(settings, clock=clock)
    return parts.app, parts.port
