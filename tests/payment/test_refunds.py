"""RefundOrder and charge.refunded: one Stripe refund per request; a top-up gives back what is left."""

from __future__ import annotations

import grpc
from payment.v1 import payment_service_pb2 as pb

from tests.conftest import ADMIN_METADATA
from tests.payment.support import refused, unique

FAILED = grpc.StatusCode.FAILED_PRECONDITION


async def _refund(stack, order_id: str, amount_minor: int = 0, request_id: str | None = None, **kw):
    request = pb.RefundOrderRequest(
        order_id=order_id,
        amount_minor=amount_minor,
        reason="customer asked",
        request_id=request_id or unique("rf"),
    )
    return await stack.payment.RefundOrder(request, metadata=kw.get("metadata", ADMIN_METADATA))


def _refund_events(stack) -> list[dict]:
    return [e for e in stack.fake.events if e["type"] == "charge.refunded"]


async def test_refund_of_a_partly_spent_top_up_records_the_shortfall(stack):
    account = unique("acct")
    order = await stack.paid_top_up(account, 2)
    await stack.spend(account, 1500)
    response = await _refund(stack, order.order_id)
    assert response.stripe_refund_id.startswith("re_")
    (create,) = stack.fake.calls("POST", "/v1/refunds")
    assert create.params["payment_intent"] == order.stripe_payment_intent_id
    assert create.params["amount"] == "2000"
    assert create.idempotency_key.startswith(f"refund-{order.order_id}-")
    (refunded,) = _refund_events(stack)
    assert (await stack.deliver(refunded))["outcome"] == "refunded"
    assert (await stack.deliver(refunded))["duplicate"] is True
    read = await stack.order(order.order_id)
    assert (read.status, read.refunded_minor, read.refund_shortfall_minor) == (
        pb.ORDER_STATUS_REFUNDED,
        2000,
        1500,
    )
    assert await stack.balance_of(account) == 0
    assert [c.status for c in read.history][-1] == pb.ORDER_STATUS_REFUNDED


async def test_refund_request_is_idempotent(stack):
    order = await stack.paid_top_up(unique("acct"), 2)
    first = await _refund(stack, order.order_id, 500, request_id="rf-1")
    again = await _refund(stack, order.order_id, 500, request_id="rf-1")
    assert again.stripe_refund_id == first.stripe_refund_id
    assert len(stack.fake.calls("POST", "/v1/refunds")) == 1
    await refused(_refund(stack, order.order_id, 600, request_id="rf-1"), FAILED, "REQUEST_ID_REUSED")


async def test_refund_limits_and_states(stack):
    account = unique("acct")
    order = await stack.paid_top_up(account, 1)
    await refused(_refund(stack, order.order_id, 1001), FAILED, "REFUND_EXCEEDS_PAID")
    pending = (await stack.top_up_session(account, 1)).order
    await refused(_refund(stack, pending.order_id), FAILED, "ORDER_NOT_REFUNDABLE")
    await refused(
        _refund(stack, "ord_0123456789abcdef01234567"), grpc.StatusCode.NOT_FOUND, "ORDER_NOT_FOUND"
    )
    await _refund(stack, order.order_id)
    await stack.deliver(_refund_events(stack)[-1])
    await refused(_refund(stack, order.order_id), FAILED, "REFUND_EXCEEDS_PAID")
    assert len(stack.fake.calls("POST", "/v1/refunds")) == 1


async def test_refund_needs_the_admin_token(stack):
    order = await stack.paid_top_up(unique("acct"), 1)
    await refused(
        _refund(stack, order.order_id, metadata=()), grpc.StatusCode.UNAUTHENTICATED, "ADMIN_TOKEN_MISSING"
    )
    assert stack.fake.calls("POST", "/v1/refunds") == []


async def test_product_refund_keeps_the_code_redemption(stack):
    await stack.create_code("SAVE15", percent_off=15)
    account = unique("acct")
    response = await stack.checkout(account, "launch-product", "SAVE15")
    await stack.deliver(stack.fake.complete_session(response.session_id))
    await _refund(stack, response.order.order_id)
    await stack.deliver(_refund_events(stack)[-1])
    read = await stack.order(response.order.order_id)
    assert (read.status, read.refunded_minor) == (pb.ORDER_STATUS_REFUNDED, read.amount_minor)
    assert (await stack.code("SAVE15")).redeemed_count == 1
