"""A running payment stack for tests: payment_svc with real pricing_svc, balance_svc and the fake Stripe."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Awaitable
from dataclasses import dataclass

import aiohttp
import grpc
import pytest
from balance.v1 import balance_service_pb2 as bal
from balance.v1 import balance_service_pb2_grpc
from payment.v1 import payment_service_pb2 as pb
from payment.v1 import payment_service_pb2_grpc
from pricing.v1 import pricing_service_pb2 as pri
from pricing.v1 import pricing_service_pb2_grpc

from balance_svc.events import publish
from balance_svc.model import LowBalanceCrossing
from devtools.fake_stripe import FakeStripe, sign
from payment_svc.server import PaymentApp
from svckit.clock import ManualClock
from svckit.redis_client import RedisClient
from svckit.status import error_info
from tests.conftest import ADMIN_METADATA
from tests.payment.tcp_proxy import TcpProxy

STRIPE_KEY = "sk_test_payment_suite"
LOW_BALANCE_STREAM = "balance:low_balance_events"  # both services' default
WEBHOOK_SECRET = "whsec_payment_suite"
SUCCESS_URL = "https://shop.example/paid"
CANCEL_URL = "https://shop.example/cart"

_ids = itertools.count()


def unique(prefix: str) -> str:
    return f"{prefix}-{next(_ids)}"


def product(product_id: str, *, list_minor=4999, launch_minor=2999, mode=pri.PRICING_MODE_LAUNCH, **kw):
    return pri.Product(
        product_id=product_id,
        display_name=product_id.title(),
        currency="USD",
        list_price_minor=list_minor,
        launch_price_minor=launch_minor,
        base_mode=mode,
        **kw,
    )


async def refused(call: Awaitable, code: grpc.StatusCode, reason: str) -> grpc.aio.AioRpcError:
    """Awaits `call`, which must fail with `code` and ErrorInfo `reason`."""
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    info = error_info(caught.value)
    assert (caught.value.code(), info.reason if info else None) == (code, reason), caught.value.details()
    return caught.value


async def eventually(check, timeout_s: float = 15.0):
    """Polls `check()` (sync or async) until it returns something truthy; returns that."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result or loop.time() > deadline:
            assert result, "condition not met in time"
            return result
        await asyncio.sleep(0.02)


def payload_of(event: dict) -> bytes:
    return json.dumps(event, indent=2).encode()


@dataclass
class Stack:
    """payment_svc and its peers, the fake Stripe behind it, and the shared manual clock."""

    payment: payment_service_pb2_grpc.PaymentServiceStub
    pricing: pricing_service_pb2_grpc.PricingServiceStub
    balance: balance_service_pb2_grpc.BalanceServiceStub
    fake: FakeStripe
    parts: PaymentApp
    clock: ManualClock
    http: aiohttp.ClientSession
    redis: RedisClient  # payment_svc's Redis, for reading the order events stream
    events_stream: str
    balance_proxy: TcpProxy | None = None  # between payment_svc and balance_svc, when asked for

    # Catalogue and codes (pricing_svc admin API)

    async def set_products(self, *products: pri.Product) -> None:
        config = await self.pricing.GetPricingConfig(pri.GetPricingConfigRequest(), metadata=ADMIN_METADATA)
        request = pri.UpdatePricingConfigRequest(
            products=products, expected_version=config.config.version, request_id=unique("cfg")
        )
        await self.pricing.UpdatePricingConfig(request, metadata=ADMIN_METADATA)

    async def create_code(self, code: str, **fields) -> None:
        fields.setdefault("kind", pri.DISCOUNT_KIND_PERCENT)
        if fields["kind"] == pri.DISCOUNT_KIND_PERCENT:
            fields.setdefault("percent_off", 10)
        request = pri.CreateDiscountCodeRequest(
            discount_code=pri.DiscountCode(code=code, **fields), request_id=unique("code")
        )
        await self.pricing.CreateDiscountCode(request, metadata=ADMIN_METADATA)

    async def code(self, code: str) -> pri.DiscountCode:
        request = pri.GetDiscountCodeRequest(code=code)
        return (await self.pricing.GetDiscountCode(request, metadata=ADMIN_METADATA)).discount_code

    # payment_svc RPCs

    async def checkout(
        self, account: str, product_id: str, code: str = "", request_id: str | None = None, **kw
    ) -> pb.CreateCheckoutSessionResponse:
        request = pb.CreateCheckoutSessionRequest(
            account_id=account,
            product_id=product_id,
            discount_code=code,
            success_url=kw.pop("success_url", SUCCESS_URL),
            cancel_url=kw.pop("cancel_url", CANCEL_URL),
            request_id=request_id or unique("req"),
        )
        return await self.payment.CreateCheckoutSession(request)

    async def top_up_session(
        self, account: str, blocks: int, request_id: str | None = None, **kw
    ) -> pb.CreateTopUpSessionResponse:
        request = pb.CreateTopUpSessionRequest(
            account_id=account,
            blocks=blocks,
            success_url=kw.pop("success_url", SUCCESS_URL),
            cancel_url=kw.pop("cancel_url", CANCEL_URL),
            request_id=request_id or unique("req"),
        )
        return await self.payment.CreateTopUpSession(request)

    async def saved_card_top_up(
        self, account: str, blocks: int, request_id: str | None = None
    ) -> pb.TopUpWithSavedCardResponse:
        request = pb.TopUpWithSavedCardRequest(
            account_id=account, blocks=blocks, request_id=request_id or unique("req")
        )
        return await self.payment.TopUpWithSavedCard(request)

    async def order(self, order_id: str) -> pb.Order:
        return (await self.payment.GetOrder(pb.GetOrderRequest(order_id=order_id))).order

    # Webhooks

    async def post(
        self, body: bytes, *, signature: str | None = None, secret: str = WEBHOOK_SECRET, timestamp=None
    ) -> tuple[int, dict]:
        """POSTs raw bytes to /webhooks/stripe, signed with `secret` unless a signature is given."""
        headers = {"Content-Type": "application/json"}
        headers["Stripe-Signature"] = signature if signature is not None else sign(body, secret, timestamp)
        async with self.http.post(self.parts.webhook_url, data=body, headers=headers) as response:
            if response.content_type != "application/json":
                return response.status, {"text": await response.text()}
            return response.status, await response.json()

    async def deliver(self, event: dict) -> dict:
        """Delivers an event as Stripe does and expects it accepted."""
        status, body = await self.post(payload_of(event))
        assert status == 200, body
        return body

    # Balance

    async def balance_of(self, account: str) -> int:
        response = await self.balance.GetBalance(bal.GetBalanceRequest(account_id=account))
        return response.balance.balance_minor

    async def credits_of(self, account: str) -> list[bal.Transaction]:
        request = bal.ListTransactionsRequest(account_id=account, page_size=100)
        transactions = (await self.balance.ListTransactions(request)).transactions
        return [t for t in transactions if t.type == bal.TRANSACTION_TYPE_CREDIT]

    async def spend(self, account: str, amount_minor: int) -> bal.DebitResponse:
        request = bal.DebitRequest(
            account_id=account,
            amount_minor=amount_minor,
            reason=bal.TRANSACTION_REASON_USAGE,
            request_id=unique("spend"),
        )
        return await self.balance.Debit(request)

    # Flows

    async def completed_top_up(self, blocks: int = 1) -> tuple[str, str, dict]:
        """A new account's top-up the customer paid, whose events are not delivered yet.

        Returns (account, order id, the checkout.session.completed event).
        """
        account = unique("acct")
        session = await self.top_up_session(account, blocks)
        return account, session.order.order_id, self.fake.complete_session(session.session_id)

    async def redeliver_until_accepted(self, event: dict) -> dict:
        """Delivers again and again, as Stripe retries, until payment_svc answers 2xx."""

        async def accepted():
            status, body = await self.post(payload_of(event))
            return body if status == 200 else None

        return await eventually(accepted)

    async def paid_top_up(self, account: str, blocks: int = 1) -> pb.Order:
        """A top-up paid through Checkout and fulfilled by its webhook; it leaves a saved card."""
        session = await self.top_up_session(account, blocks)
        await self.deliver(self.fake.complete_session(session.session_id))
        return await self.order(session.order.order_id)

    async def low_balance_event(self, account: str, available_minor: int, threshold_minor: int) -> None:
        """Publishes a low-balance event as balance_svc does, for a crossing of our own making."""
        crossing = LowBalanceCrossing(account, unique("txn"), "USD", available_minor, threshold_minor)
        await publish(self.redis, LOW_BALANCE_STREAM, crossing, maxlen=100_000)

    async def low_balance_events_handled(self) -> bool:
        """Every low-balance event so far was read and acknowledged by payment_svc's consumer group."""
        last = await self.redis.xrevrange(LOW_BALANCE_STREAM, count=1)
        groups = await self.redis.xinfo_groups(LOW_BALANCE_STREAM)
        return bool(last) and any(g["last-delivered-id"] == last[0][0] and g["pending"] == 0 for g in groups)

    async def order_events(self) -> list[dict]:
        """What downstream services read: the `order.paid` entries."""
        return [fields for _, fields in await self.redis.xrange(self.events_stream)]
