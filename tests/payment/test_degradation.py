"""Without Stripe keys payment_svc still serves: reads work, payments and webhooks are refused clearly."""

from __future__ import annotations

import logging

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from payment.v1 import payment_service_pb2 as pb

from tests.conftest import ADMIN_METADATA
from tests.payment.support import CANCEL_URL, SUCCESS_URL, payload_of, refused

FAILED = grpc.StatusCode.FAILED_PRECONDITION
NOT_CONFIGURED = "PAYMENTS_NOT_CONFIGURED"


async def test_without_stripe_key_reads_work_and_payments_fail_fast(start_stack, single_redis, caplog):
    caplog.set_level(logging.WARNING, logger="payment_svc")
    stack = await start_stack(single_redis, stripe=False, stripe_webhook_secret=None)
    p = stack.payment
    await refused(
        p.GetOrder(pb.GetOrderRequest(order_id="ord_0123456789abcdef01234567")),
        grpc.StatusCode.NOT_FOUND,
        "ORDER_NOT_FOUND",
    )
    assert list((await p.ListOrders(pb.ListOrdersRequest(account_id="acct-1"))).orders) == []
    assert not (await p.GetAutoTopUp(pb.GetAutoTopUpRequest(account_id="acct-1"))).auto_top_up.enabled
    checkout = pb.CreateCheckoutSessionRequest(
        account_id="acct-1",
        product_id="launch-product",
        success_url=SUCCESS_URL,
        cancel_url=CANCEL_URL,
        request_id="r1",
    )
    await refused(p.CreateCheckoutSession(checkout), FAILED, NOT_CONFIGURED)
    top_up = pb.CreateTopUpSessionRequest(
        account_id="acct-1", blocks=1, success_url=SUCCESS_URL, cancel_url=CANCEL_URL, request_id="r2"
    )
    await refused(p.CreateTopUpSession(top_up), FAILED, NOT_CONFIGURED)
    saved = pb.TopUpWithSavedCardRequest(account_id="acct-1", blocks=1, request_id="r3")
    await refused(p.TopUpWithSavedCard(saved), FAILED, NOT_CONFIGURED)
    refund = pb.RefundOrderRequest(order_id="ord_0123456789abcdef01234567", request_id="r4")
    await refused(p.RefundOrder(refund, metadata=ADMIN_METADATA), FAILED, NOT_CONFIGURED)
    assert stack.fake.requests == []
    warnings = [r.getMessage() for r in caplog.records if "not configured" in r.getMessage()]
    assert len([w for w in warnings if "STRIPE_SECRET_KEY" in w]) == 1
    assert len([w for w in warnings if "STRIPE_WEBHOOK_SECRET" in w]) == 1


async def test_without_stripe_key_health_is_serving(start_stack, single_redis, channel_to):
    stack = await start_stack(single_redis, stripe=False)
    addr = f"127.0.0.1:{stack.parts.port}"
    response = await health_pb2_grpc.HealthStub(channel_to(addr)).Check(health_pb2.HealthCheckRequest())
    assert response.status == health_pb2.HealthCheckResponse.SERVING


async def test_without_webhook_secret_every_event_is_refused(start_stack, single_redis):
    stack = await start_stack(single_redis, stripe_webhook_secret=None)
    account = "acct-1"
    session = await stack.top_up_session(account, 1)
    event = stack.fake.complete_session(session.session_id)
    status, body = await stack.post(payload_of(event))
    assert (status, body["error"]["reason"]) == (400, "WEBHOOKS_NOT_CONFIGURED")
    request = pb.HandleStripeEventRequest(payload=payload_of(event), stripe_signature="t=1,v1=00")
    await refused(stack.payment.HandleStripeEvent(request), FAILED, "WEBHOOKS_NOT_CONFIGURED")
    assert (await stack.order(session.order.order_id)).status == pb.ORDER_STATUS_PENDING
    assert await stack.balance_of(account) == 0
