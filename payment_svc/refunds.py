"""RefundOrder: asks Stripe to refund a paid order; the order changes when Stripe reports the refund."""

from __future__ import annotations

from dataclasses import dataclass, replace

from payment_svc.checkout import Checkout
from payment_svc.checks import check_order_id
from payment_svc.errors import OrderNotFound, OrderNotRefundable, RefundExceedsPaid, StripeRejected
from payment_svc.order_store import OrderStore
from payment_svc.orders import Order, Status, fingerprint
from svckit.errors import RequestIdReused, Violations
from svckit.validation import MAX_AMOUNT_MINOR, check_request_id

MAX_REASON_CHARS = 500  # Stripe metadata values hold at most 500 characters
_REFUNDABLE = frozenset({Status.FULFILLED, Status.REFUNDED})
_TOO_MUCH = frozenset({"amount_too_large", "charge_already_refunded"})


@dataclass(frozen=True)
class RefundRequested:
    order: Order
    stripe_refund_id: str


class Refunds:
    def __init__(self, *, orders: OrderStore, checkout: Checkout) -> None:
        self._orders = orders
        self._checkout = checkout

    async def refund(self, order_id: str, amount_minor: int, reason: str, request_id: str) -> RefundRequested:
        v = Violations()
        check_order_id(v, order_id)
        v.check(0 <= amount_minor <= MAX_AMOUNT_MINOR, "amount_minor", f"must be 0 to {MAX_AMOUNT_MINOR}")
        v.check(len(reason) <= MAX_REASON_CHARS, "reason", f"must be at most {MAX_REASON_CHARS} characters")
        check_request_id(v, request_id)
        v.raise_if_any()
        stripe = self._checkout.require_stripe()
        stored = await self._orders.get(order_id)
        if stored is None:
            raise OrderNotFound(f"order {order_id} does not exist")
        order = stored.order
        request = fingerprint("refund", order_id, amount_minor, reason)
        if not await self._orders.seen_refund_request(order_id, request_id):
            amount_minor = _amount_to_refund(order, amount_minor)
        recorded = await self._orders.refund_request(order_id, request_id, request, amount_minor)
        if recorded is None:
            raise OrderNotFound(f"order {order_id} does not exist")
        if recorded.fingerprint != request:
            raise RequestIdReused("request_id was already used with different parameters")
        if not recorded.stripe_refund_id:
            params = {
                "payment_intent": order.stripe_payment_intent_id,
                "amount": recorded.amount_minor,
                "metadata": {"order_id": order_id, "request_id": request_id, "reason": reason},
            }
            try:
                refund_id = await stripe.refund(params, key=f"refund-{order_id}-{request_id}")
            except StripeRejected as err:
                if err.metadata.get("stripe_code") in _TOO_MUCH:
                    raise RefundExceedsPaid("Stripe says the payment has less left to refund") from err
                raise
            recorded = replace(recorded, stripe_refund_id=refund_id)
            await self._orders.record_refund_id(order_id, request_id, recorded)
        return RefundRequested(order, recorded.stripe_refund_id)


def _amount_to_refund(order: Order, amount_minor: int) -> int:
    if order.status not in _REFUNDABLE or not order.stripe_payment_intent_id:
        raise OrderNotRefundable(f"order {order.order_id} is {order.status} and has no payment to refund")
    left = order.amount_minor - order.refunded_minor
    if left <= 0 or amount_minor > left:
        raise RefundExceedsPaid(f"at most {left} of {order.amount_minor} is left to refund")
    return amount_minor or left
