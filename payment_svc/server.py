"""Builds the payment_svc gRPC server, its webhook HTTP endpoint and its background workers."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import TypeVar

from payment.v1 import payment_service_pb2, payment_service_pb2_grpc

from payment_svc.auto_top_up import AutoTopUps
from payment_svc.auto_top_up_store import AutoTopUpStore
from payment_svc.checkout import Checkout
from payment_svc.config import Settings
from payment_svc.customer_store import CustomerStore
from payment_svc.customers import Customers
from payment_svc.disputes import Disputes
from payment_svc.errors import from_peer
from payment_svc.event_handlers import EventHandlers
from payment_svc.fulfilment import Fulfilment
from payment_svc.low_balance_consumer import LowBalanceConsumer
from payment_svc.order_event_stream import OrderEventStream
from payment_svc.order_queries import OrderQueries
from payment_svc.order_store import OrderStore
from payment_svc.product_names import ProductNames
from payment_svc.reconciler import Reconciler
from payment_svc.refund_effects import RefundEffects
from payment_svc.refunds import Refunds
from payment_svc.saved_card import SavedCardTopUps
from payment_svc.service import Domain, PaymentServicer
from payment_svc.stripe_gateway import StripeGateway
from payment_svc.webhook_event_store import WebhookEventStore
from payment_svc.webhook_http import WebhookServer
from payment_svc.webhooks import WebhookProcessor
from priceledger_client import BalanceClient, PricingClient, ServiceClient
from svckit import tls
from svckit.clock import Clock, SystemClock
from svckit.data_guard import DataGuard
from svckit.logs import correlation_id_var
from svckit.redis_client import connect, script_pipe
from svckit.server import AppServer, ServiceBinding, build_server
from svckit.tasks import cancel_and_wait

log = logging.getLogger(__name__)
PeerClient = TypeVar("PeerClient", bound=ServiceClient)
SERVICE_NAME = payment_service_pb2.DESCRIPTOR.services_by_name["PaymentService"].full_name


@dataclass
class PaymentApp:
    """The running parts; tests reach the webhook port and trigger sweeps through it."""

    app: AppServer
    port: int
    webhook: WebhookServer
    reconciler: Reconciler | None
    consumer: LowBalanceConsumer | None
    fulfilment: Fulfilment  # tests read its mismatch counter
    _tasks: list[asyncio.Task] = field(default_factory=list)

    @property
    def webhook_url(self) -> str:
        return f"http://127.0.0.1:{self.webhook.port}/webhooks/stripe"


@dataclass(frozen=True)
class _Peers:
    """The clients of pricing_svc and balance_svc, calling as the `payment` identity. Their errors come
    back as ours (errors.from_peer), and each call carries the correlation id of the RPC or event served."""

    pricing: PricingClient
    balance: BalanceClient

    @classmethod
    def open(cls, settings: Settings) -> _Peers:
        credentials = tls.channel_credentials(settings, service="payment")

        def client(kind: type[PeerClient], addr: str) -> PeerClient:
            return kind(
                addr,
                credentials=credentials,
                timeout_s=settings.peer_timeout_s,
                correlation_id=correlation_id_var.get,
                error_mapper=from_peer,
            )

        return cls(
            pricing=client(PricingClient, settings.pricing_service_addr),
            balance=client(BalanceClient, settings.balance_service_addr),
        )

    async def close(self) -> None:
        await self.pricing.close()
        await self.balance.close()


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
    pipe = script_pipe(redis)  # the order scripts' calls share writes; None on a Cluster
    stripe = StripeGateway(settings) if settings.stripe_secret_key is not None else None

    peers = _Peers.open(settings)
    pricing, balance = peers.pricing, peers.balance
    orders = OrderStore(redis, pipe)
    customers = Customers(CustomerStore(redis), stripe)
    fulfilment = Fulfilment(
        orders=orders,
        pricing=pricing,
        balance=balance,
        customers=customers,
        stripe=stripe,
        events=OrderEventStream(redis, settings.order_events_stream, settings.order_events_maxlen),
        clock=clock,
        auto_refund=settings.needs_attention_auto_refund,
    )
    checkout = Checkout(
        settings=settings,
        orders=orders,
        pricing=pricing,
        product_names=ProductNames(peers.pricing),
        balance=balance,
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
    auto_store = AutoTopUpStore(
        redis, request_ttl_s=settings.idempotency_ttl_s, lock_ttl_s=settings.auto_top_up_lock_ttl_s
    )
    auto_top_ups = AutoTopUps(
        settings=settings, store=auto_store, balance=balance, saved_card=saved_card, clock=clock
    )
    webhooks = WebhookProcessor(
        secrets=secrets,
        tolerance_s=settings.webhook_tolerance_s,
        max_body_bytes=settings.webhook_max_body_bytes,
        events=WebhookEventStore(redis, settings.webhook_dedupe_ttl_s),
        handlers=EventHandlers(
            orders=orders,
            fulfilment=fulfilment,
            refunds=RefundEffects(orders=orders, balance=balance, clock=clock),
            disputes=Disputes(orders=orders, balance=balance, fulfilment=fulfilment, clock=clock),
            customers=customers,
            stripe=stripe,
            clock=clock,
        ).table(),
    )
    domain = Domain(
        queries=OrderQueries(orders),
        checkout=checkout,
        saved_card=saved_card,
        auto_top_ups=auto_top_ups,
        refunds=Refunds(orders=orders, checkout=checkout),
        webhooks=webhooks,
    )
    guard = DataGuard(redis, "payment")
    guard.on_acknowledged(customers.forget_known)
    webhook_server = WebhookServer(webhooks, settings, guard)
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
        await peers.close()
        if stripe is not None:
            await stripe.close()
        if pipe is not None:
            await pipe.aclose()
        await redis.aclose()

    binding = ServiceBinding(
        payment_service_pb2_grpc.add_PaymentServiceServicer_to_server, PaymentServicer(domain), SERVICE_NAME
    )
    app, port = build_server(
        settings,
        port=settings.payment_port,
        services=[binding],
        domain="payment.v1",
        data_guard=guard,
        on_start=[start_workers],
        on_stop=[stop_workers],
    )
    parts = PaymentApp(app, port, webhook_server, reconciler, consumer, fulfilment)
    return parts


async def create_server(settings: Settings, *, clock: Clock | None = None) -> tuple[AppServer, int]:
    parts = await build(settings, clock=clock)
    return parts.app, parts.port
