"""Fixtures: payment_svc with real pricing_svc and balance_svc on one manual clock, and the fake Stripe."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator

import aiohttp
import pytest
from balance.v1 import balance_service_pb2_grpc
from payment.v1 import payment_service_pb2_grpc
from pricing.v1 import pricing_service_pb2_grpc

from balance_svc.config import Settings as BalanceSettings
from balance_svc.server import create_server as create_balance
from devtools.fake_stripe import FakeStripe
from payment_svc.config import Settings as PaymentSettings
from payment_svc.server import PaymentApp, build
from pricing_svc.server import create_server as create_pricing
from pricing_svc.settings import Settings as PricingSettings
from svckit.clock import ManualClock, SystemClock
from svckit.redis_client import RedisClient, connect
from tests.conftest import base_settings
from tests.payment.support import STRIPE_KEY, WEBHOOK_SECRET, Stack, product
from tests.payment.tcp_proxy import TcpProxy

CATALOGUE = (product("launch-product"),)


@pytest.fixture
async def fake_stripe() -> AsyncIterator[FakeStripe]:
    async with FakeStripe() as fake:
        yield fake


def payment_settings(redis_overrides: dict[str, str], fake: FakeStripe | None, **overrides):
    """payment_svc pointed at the fake Stripe, with sweeps triggered by the tests themselves."""
    stripe = {"stripe_secret_key": STRIPE_KEY, "stripe_api_base": fake.url} if fake else {}
    values = {
        **stripe,
        "stripe_webhook_secret": WEBHOOK_SECRET,
        "stripe_max_network_retries": 2,
        "reconcile_interval_s": 0,
        "auto_top_up_block_ms": 50,
        **redis_overrides,
        **overrides,
    }
    return PaymentSettings(**base_settings(**values))


@pytest.fixture
async def any_redis_client(any_redis) -> AsyncIterator[RedisClient]:
    """A client that decodes replies, as payment_svc's does, to a clean single Redis, then a clean Cluster."""
    client = connect(PaymentSettings(**base_settings(**any_redis)), decode_responses=True)
    yield client
    await client.aclose()


@pytest.fixture
async def start_stack(start_server, channel_to, fake_stripe) -> AsyncIterator:
    """`stack = await start_stack(redis_overrides, **payment_settings)`.

    Options: `payment_redis` (other Redis overrides for payment_svc alone), `balance_proxy` (a
    TcpProxy put between payment_svc and balance_svc, returned as `stack.balance_proxy`),
    `stripe=False` (no Stripe key).
    """
    opened = []

    async def _start(redis_overrides: dict[str, str], **options) -> Stack:
        clock = ManualClock(SystemClock().now_ms())  # the fake Stripe checks expires_at against real time
        pricing_addr = await start_server(
            functools.partial(create_pricing, clock=clock),
            PricingSettings(**base_settings(**redis_overrides)),
        )
        balance_settings = BalanceSettings(**base_settings(**redis_overrides))
        balance_addr = await start_server(functools.partial(create_balance, clock=clock), balance_settings)
        proxy = None
        peer_balance_addr = balance_addr
        if options.pop("balance_proxy", False):
            proxy = TcpProxy(int(balance_addr.rsplit(":", 1)[1]))
            peer_balance_addr = await proxy.start()
            opened.append(proxy)
        payment_redis = options.pop("payment_redis", redis_overrides)
        fake = fake_stripe if options.pop("stripe", True) else None
        settings = payment_settings(
            payment_redis,
            fake,
            pricing_service_addr=pricing_addr,
            balance_service_addr=peer_balance_addr,
            **options,
        )
        built: list[PaymentApp] = []

        async def _create(s):
            built.append(await build(s, clock=clock))
            return built[0].app, built[0].port

        payment_addr = await start_server(_create, settings)
        http = aiohttp.ClientSession()
        redis = connect(settings, decode_responses=True)
        opened.extend([http, redis])
        stack = Stack(
            payment=payment_service_pb2_grpc.PaymentServiceStub(channel_to(payment_addr)),
            pricing=pricing_service_pb2_grpc.PricingServiceStub(channel_to(pricing_addr)),
            balance=balance_service_pb2_grpc.BalanceServiceStub(channel_to(balance_addr)),
            fake=fake_stripe,
            parts=built[0],
            clock=clock,
            http=http,
            redis=redis,
            events_stream=settings.order_events_stream,
            balance_proxy=proxy,
        )
        await stack.set_products(*CATALOGUE)
        return stack

    yield _start
    for resource in reversed(opened):
        if isinstance(resource, TcpProxy):
            await resource.stop()
        elif isinstance(resource, aiohttp.ClientSession):
            await resource.close()
        else:
            await resource.aclose()


@pytest.fixture
async def stack(single_redis, start_stack) -> Stack:
    return await start_stack(single_redis)


@pytest.fixture
async def any_stack(any_redis, start_stack) -> Stack:
    """Runs the test on a single Redis and on a 3-master Cluster."""
    return await start_stack(any_redis)
