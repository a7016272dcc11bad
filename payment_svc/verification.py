"""Does a payment Stripe reports belong to an order, in full? One pure check, no I/O."""

from __future__ import annotations

from enum import StrEnum

from payment_svc.orders import Kind, Order
from payment_svc.stripe_objects import Payment


class Mismatch(StrEnum):
    """Why a payment cannot fulfil an order. The first two mean it is not the order's payment at all."""

    FOREIGN_OBJECT = "FOREIGN_OBJECT"  # another session or intent than the one created for the order
    MODE_MISMATCH = "MODE_MISMATCH"  # live payment for a test deployment, or the other way round
    CURRENCY_MISMATCH = "CURRENCY_MISMATCH"
    AMOUNT_MISMATCH = "AMOUNT_MISMATCH"


NOT_OURS = frozenset({Mismatch.FOREIGN_OBJECT, Mismatch.MODE_MISMATCH})


def mismatch(order: Order, payment: Payment, *, livemode: bool) -> Mismatch | None:
    """None when `payment` pays `order`: its own Stripe object, mode, currency and amount."""
    if payment.session_id:
        ours = payment.session_id == order.stripe_checkout_session_id
    else:
        ours = (
            bool(order.stripe_payment_intent_id)
            and payment.payment_intent_id == order.stripe_payment_intent_id
        )
    if not ours:
        return Mismatch.FOREIGN_OBJECT
    if payment.livemode != livemode:
        return Mismatch.MODE_MISMATCH
    if payment.currency != order.currency.upper():
        return Mismatch.CURRENCY_MISMATCH
    if not _amount_ok(order, payment):
        return Mismatch.AMOUNT_MISMATCH
    return None


def _amount_ok(order: Order, payment: Payment) -> bool:
    if order.kind == Kind.PRODUCT and order.promotion_codes:
        # A Stripe promotion code may lower what is paid, never what was bought.
        return (
            payment.subtotal_minor == order.amount_minor and 0 <= payment.amount_minor <= order.amount_minor
        )
    return payment.amount_minor == order.amount_minor and payment.subtotal_minor == order.amount_minor
