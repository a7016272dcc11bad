"""One handler per Stripe event type. Each finds the order only through the Stripe object recorded on
it, reads the object back from Stripe instead of trusting the event's copy, and hands the facts on."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from payment_svc.customers import Customers
from payment_svc.disputes import Disputes
from payment_svc.errors import PaymentsNotConfigured
from payment_svc.fulfilment import Fulfilment
from payment_svc.order_store import OrderStore
from payment_svc.outcomes import Outcome
from payment_svc.refund_effects import RefundEffects
from payment_svc.stripe_gateway import StripeGateway
from payment_svc.stripe_objects import (
    dispute,
    expandable_id,
    intent_payment,
    mapping,
    optional_text,
    session_payment,
    text,
)
from payment_svc.verification import Mismatch
from svckit.clock import Clock

StripeObject = Mapping[str, Any]


class EventHandlers:
    def __init__(
        self,
        *,
        orders: OrderStore,
        fulfilment: Fulfilment,
        refunds: RefundEffects,
        disputes: Disputes,
        customers: Customers,
        stripe: StripeGateway | None,
        clock: Clock,
    ) -> None:
        self._orders = orders
        self._customers = customers
        self._clock = clock
        self._fulfilment = fulfilment
        self._refunds = refunds
        self._disputes = disputes
        self._stripe = stripe

    def table(self) -> dict[str, Callable[[StripeObject], Awaitable[Outcome]]]:
        """Event type -> handler; any other type is acknowledged and ignored."""
        return {
            "checkout.session.completed": self.session_paid,
            "checkout.session.async_payment_succeeded": self.session_paid,
            "checkout.session.async_payment_failed": self.session_failed,
            "checkout.session.expired": self.session_expired,
            "payment_intent.succeeded": self.intent_succeeded,
            "payment_intent.payment_failed": self.intent_failed,
            "charge.refunded": self.charge_refunded,
            "charge.refund.updated": self.refund_updated,
            "charge.dispute.created": self.dispute_changed,
            "charge.dispute.closed": self.dispute_changed,
        }

    # Checkout Sessions

    async def session_paid(self, obj: StripeObject) -> Outcome:
        order_id = await self._session_order(obj)
        if isinstance(order_id, Outcome):
            return order_id
        session = await self._require_stripe().retrieve_checkout_session(text(obj, "id"))
        return await self._fulfilment.paid(order_id, session_payment(session))

    async def session_failed(self, obj: StripeObject) -> Outcome:
        order_id = await self._session_order(obj)
        if isinstance(order_id, Outcome):
            return order_id
        return await self._fulfilment.failed(order_id, "async_payment_failed")

    async def session_expired(self, obj: StripeObject) -> Outcome:
        order_id = await self._session_order(obj)
        if isinstance(order_id, Outcome):
            return order_id
        return await self._fulfilment.expired(order_id)

    async def _session_order(self, obj: StripeObject) -> str | Outcome:
        """The order the session was opened for. A session naming an order any other way (metadata,
        client_reference_id) is someone else's: a mismatch, never a way in."""
        session_id = text(obj, "id")
        order_id = await self._orders.order_for_session(session_id)
        if order_id:
            return order_id
        claimed = optional_text(mapping(obj, "metadata"), "order_id") or optional_text(
            obj, "client_reference_id"
        )
        stored = await self._orders.get(claimed) if claimed.startswith("ord_") else None
        if stored is None:
            return Outcome.UNKNOWN_ORDER
        return self._fulfilment.payment_mismatch(
            Mismatch.FOREIGN_OBJECT,
            stored.order,
            {
                "stripe_session": session_id,
                "stripe_client_reference_id": optional_text(obj, "client_reference_id"),
            },
        )

    # Off-session PaymentIntents (Checkout's own intents are settled through their session)

    async def intent_succeeded(self, obj: StripeObject) -> Outcome:
        order_id = await self._intent_order(obj)
        if isinstance(order_id, Outcome):
            return order_id
        intent = await self._require_stripe().retrieve_payment_intent(text(obj, "id"))
        return await self._fulfilment.paid(order_id, intent_payment(intent))

    async def intent_failed(self, obj: StripeObject) -> Outcome:
        order_id = await self._intent_order(obj)
        if isinstance(order_id, Outcome):
            return order_id
        code = optional_text(mapping(obj, "last_payment_error"), "code") or "payment_failed"
        if code == "authentication_required":
            return await self._fulfilment.requires_action(order_id, code)
        return await self._fulfilment.failed(order_id, code)

    async def _intent_order(self, obj: StripeObject) -> str | Outcome:
        if optional_text(mapping(obj, "metadata"), "channel") != "off_session":
            # A failed attempt on a Checkout page can be retried there; its session settles the order.
            return Outcome.IGNORED_CHECKOUT_ATTEMPT
        intent_id = text(obj, "id")
        order_id = await self._orders.order_for_payment_intent(intent_id)
        if order_id:
            return order_id
        # Charged, but the charging process stopped before it recorded the intent: the order is ours
        # only if it has no intent yet and the intent charged the account's own Stripe customer.
        claimed = optional_text(mapping(obj, "metadata"), "order_id")
        stored = await self._orders.get(claimed) if claimed.startswith("ord_") else None
        if stored is None or stored.order.stripe_payment_intent_id:
            return Outcome.UNKNOWN_ORDER
        customer_id, _ = await self._customers.saved(stored.order.account_id)
        if not customer_id or expandable_id(obj, "customer") != customer_id:
            return Outcome.UNKNOWN_ORDER
        await self._orders.link(claimed, payment_intent_id=intent_id)
        fill = {"stripe_customer_id": customer_id, "stripe_payment_intent_id": intent_id}
        await self._orders.update(claimed, self._clock.now_ms(), fill=fill)
        return claimed

    # Refunds and disputes: the order is the one the charge's PaymentIntent paid

    async def charge_refunded(self, obj: StripeObject) -> Outcome:
        charge = await self._require_stripe().retrieve_charge(text(obj, "id"))
        return await self._follow_refunds(charge)

    async def refund_updated(self, obj: StripeObject) -> Outcome:
        if optional_text(obj, "status") != "failed":
            return Outcome.IGNORED
        charge_id = expandable_id(obj, "charge")
        if not charge_id:
            return Outcome.UNKNOWN_ORDER  # not a card charge's refund: none of ours
        return await self._follow_refunds(await self._require_stripe().retrieve_charge(charge_id))

    async def _follow_refunds(self, charge: StripeObject) -> Outcome:
        intent_id = expandable_id(charge, "payment_intent")
        if not intent_id:
            return Outcome.UNKNOWN_ORDER
        order_id = await self._paid_order_for_intent(intent_id, charge)
        if isinstance(order_id, Outcome):
            return order_id
        refunded = charge.get("amount_refunded")
        if isinstance(refunded, bool) or not isinstance(refunded, int):
            refunded = 0
        async with self._fulfilment.locks.hold(order_id):
            stored = await self._orders.get(order_id)
            if stored is None:
                return Outcome.UNKNOWN_ORDER
            return await self._refunds.follow(stored.order, refunded)

    async def _paid_order_for_intent(self, intent_id: str, charge: StripeObject) -> str | Outcome:
        """The order paid by the intent. Its payment event may not have been handled yet: then the
        order's own session, read from Stripe, must name the intent, and the order is fulfilled first."""
        order_id = await self._orders.order_for_payment_intent(intent_id)
        if order_id:
            return order_id
        claimed = optional_text(mapping(charge, "metadata"), "order_id")
        stored = await self._orders.get(claimed) if claimed.startswith("ord_") else None
        if stored is None or not stored.order.stripe_checkout_session_id:
            return Outcome.UNKNOWN_ORDER
        session = await self._require_stripe().retrieve_checkout_session(
            stored.order.stripe_checkout_session_id
        )
        payment = session_payment(session)
        if payment.payment_intent_id != intent_id:
            return Outcome.UNKNOWN_ORDER
        outcome = await self._fulfilment.paid(claimed, payment)
        if outcome in (Outcome.FULFILLED, Outcome.ALREADY_FULFILLED):
            return claimed
        return outcome

    async def dispute_changed(self, obj: StripeObject) -> Outcome:
        found = dispute(await self._require_stripe().retrieve_dispute(text(obj, "id")))
        order_id = found.payment_intent_id and await self._orders.order_for_payment_intent(
            found.payment_intent_id
        )
        if not order_id:
            return Outcome.UNKNOWN_ORDER
        stored = await self._orders.get(order_id)
        if stored is None:
            return Outcome.UNKNOWN_ORDER
        order = stored.order
        livemode = self._stripe.livemode if self._stripe else False
        wrong = None
        if found.livemode != livemode:
            wrong = Mismatch.MODE_MISMATCH
        elif found.currency != order.currency.upper():
            wrong = Mismatch.CURRENCY_MISMATCH
        elif found.amount_minor > (order.paid_minor or order.amount_minor):
            wrong = Mismatch.AMOUNT_MISMATCH
        if wrong is not None:
            facts = {"stripe_dispute": found.dispute_id, "stripe_amount_minor": found.amount_minor}
            return self._fulfilment.payment_mismatch(
                wrong, order, facts | {"stripe_currency": found.currency}
            )
        return await self._disputes.apply(order_id, found)

    def _require_stripe(self) -> StripeGateway:
        if self._stripe is None:
            raise PaymentsNotConfigured("payments are not configured: STRIPE_SECRET_KEY is unset")
        return self._stripe
