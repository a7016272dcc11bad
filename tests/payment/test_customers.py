"""An account's Stripe Customer: created once, read from Redis once per process, forgotten after data loss."""

from __future__ import annotations

import asyncio

import grpc
from ops.v1 import ops_service_pb2 as ops
from ops.v1 import ops_service_pb2_grpc

from payment_svc.customer_store import CustomerStore
from payment_svc.customers import Customers
from payment_svc.stripe_gateway import StripeGateway
from tests.conftest import ADMIN_METADATA
from tests.payment.conftest import payment_settings
from tests.payment.support import refused, unique

UNAVAILABLE = grpc.StatusCode.UNAVAILABLE


async def test_a_returning_buyers_customer_is_read_from_redis_once_then_kept_in_process(
    any_redis_client, fake_stripe
):
    stripe = StripeGateway(payment_settings({}, fake_stripe))
    customers = Customers(CustomerStore(any_redis_client), stripe)
    account = unique("acct")
    created = await customers.ensure(account)
    assert await customers.ensure(account) == created  # read from Redis, and kept
    await any_redis_client.flushall()
    assert await customers.ensure(account) == created  # Redis was not asked again
    assert len(fake_stripe.calls("POST", "/v1/customers")) == 1

    customers.forget_known()
    await customers.ensure(account)  # Redis has none now: created again (Stripe's key gives the same)
    assert len(fake_stripe.calls("POST", "/v1/customers")) == 2
    await stripe.close()


async def test_kept_customers_are_forgotten_once_an_operator_acknowledges_a_data_loss(stack, channel_to):
    account = unique("acct")
    first = await stack.checkout(account, "launch-product")
    await stack.checkout(account, "launch-product")  # its Customer is now kept in process
    await stack.redis.flushall()
    opsv = ops_service_pb2_grpc.OpsServiceStub(channel_to(f"127.0.0.1:{stack.parts.port}"))
    for _ in range(100):
        integrity = await opsv.GetDataIntegrity(ops.GetDataIntegrityRequest(), metadata=ADMIN_METADATA)
        if integrity.HasField("data_loss"):
            break
        await asyncio.sleep(0.05)
    await refused(stack.checkout(account, "launch-product"), UNAVAILABLE, "DATA_LOSS_UNACKNOWLEDGED")
    acknowledge = ops.AcknowledgeDataLossRequest(note="test: flushed")
    await opsv.AcknowledgeDataLoss(acknowledge, metadata=ADMIN_METADATA)

    after = await stack.checkout(account, "launch-product")
    assert len(stack.fake.calls("POST", "/v1/customers")) == 2  # Redis had none: asked Stripe again
    assert after.order.stripe_customer_id == first.order.stripe_customer_id  # by Stripe's idempotency key
