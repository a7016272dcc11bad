"""Ids unique across runs (compose may reuse a Redis volume), and a paid order made the customer's way."""

from __future__ import annotations

import asyncio
import itertools
import time

import aiohttp
from payment.v1 import payment_service_pb2 as pay

from priceledger_client import PaymentClient

RUN = str(time.time_ns())[-10:]
_seq = itertools.count()


def unique(prefix: str) -> str:
    return f"{prefix}-{RUN}-{next(_seq)}"


async def fulfilled_order(e2e, account_id: str) -> pay.Order:
    """launch-product bought on the fake Stripe's hosted page; returns the order once FULFILLED."""
    async with PaymentClient(e2e.payment) as payment:
        checkout = await payment.create_checkout_session(
            account_id,
            "launch-product",
            success_url="https://shop.example/paid",
            cancel_url="https://shop.example/cart",
        )
        async with aiohttp.ClientSession() as http:
            async with http.post(f"{e2e.fake_stripe_url}/c/pay/{checkout.session_id}") as response:
                assert response.status == 200, await response.text()
        return await until(payment.get_order, checkout.order.order_id, pay.ORDER_STATUS_FULFILLED)


async def until(read, order_id: str, status: int, deadline_s: float = 20.0) -> pay.Order:
    """Polls an order until it reaches `status`; webhooks arrive asynchronously."""
    end = time.monotonic() + deadline_s
    while True:
        order = await read(order_id)
        if order.status == status or time.monotonic() > end:
            assert pay.OrderStatus.Name(order.status) == pay.OrderStatus.Name(status)
            return order
        await asyncio.sleep(0.1)
