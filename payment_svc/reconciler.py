"""The sweeper: old open orders are checked against Stripe, so a lost webhook costs minutes, not money."""

from __future__ import annotations

import asyncio
import logging
from enum import StrEnum

from payment_svc import metrics
from payment_svc.fulfilment import Fulfilment
from payment_svc.order_store import OrderStore
from payment_svc.orders import OPEN, Order, Status
from payment_svc.outcomes import Outcome
from payment_svc.stripe_gateway import StripeGateway
from payment_svc.stripe_objects import intent_payment, session_payment
from svckit import tracing
from svckit.clock import Clock
from svckit.errors import ServiceError
from svckit.logs import correlation_id_var

log = logging.getLogger(__name__)


class Swept(StrEnum):
    """What a sweep did with an order when it handed nothing to fulfilment."""

    CLOSED = "closed"  # terminal or done: unlisted, never swept again
    OPEN = "open"  # Stripe has not settled it yet
    ERROR = "error"  # tried again next sweep


class Reconciler:
    def __init__(
        self,
        *,
        orders: OrderStore,
        fulfilment: Fulfilment,
        stripe: StripeGateway,
        clock: Clock,
        after_s: int,
        batch: int,
    ) -> None:
        self._orders = orders
        self._fulfilment = fulfilment
        self._stripe = stripe
        self._clock = clock
        self._after_ms = after_s * 1000
        self._batch = batch

    async def run(self, interval_s: float) -> None:
        while True:
            await asyncio.sleep(interval_s)
            try:
                await self.sweep_once()
            except Exception:  # a sweep that fails is simply tried again next time
                log.exception("reconciliation sweep failed")

    async def sweep_once(self) -> dict[str, Outcome | Swept]:
        """Applies Stripe's view of each due order through the webhook's own path; returns the outcomes."""
        now_ms = self._clock.now_ms()
        outcomes: dict[str, Outcome | Swept] = {}
        for order_id in await self._orders.pending_before(now_ms - self._after_ms, self._batch):
            token = correlation_id_var.set(f"sweep-{order_id}")  # the order's own, once it is read
            try:
                with tracing.span("reconcile order"):  # a trace per order, linked to its checkout's
                    outcomes[order_id] = await self._reconcile(order_id, now_ms)
            except ServiceError as err:
                log.warning("could not reconcile order: %s", err, extra={"order_id": order_id})
                outcomes[order_id] = Swept.ERROR
            finally:
                correlation_id_var.reset(token)
        metrics.set_paid_not_fulfilled(await self._still_paid(outcomes))
        return outcomes

    async def _still_paid(self, outcomes: dict[str, Outcome | Swept]) -> int:
        """The swept orders left PAID: re-read, as an error or a refusal may have cut fulfilment short."""
        settled = {Swept.CLOSED, Swept.OPEN, Outcome.FULFILLED, Outcome.ALREADY_FULFILLED}
        count = 0
        for order_id, outcome in outcomes.items():
            if outcome not in settled:
                stored = await self._orders.get(order_id)
                count += stored is not None and stored.order.status == Status.PAID
        return count

    async def _reconcile(self, order_id: str, now_ms: int) -> Outcome | Swept:
        stored = await self._orders.get(order_id)
        if stored is not None:
            if stored.order.correlation_id:
                correlation_id_var.set(stored.order.correlation_id)
            tracing.link_to(stored.order.traceparent)
        if stored is not None and stored.order.status == Status.PAID:
            return await self._fulfilment.paid(order_id)  # its fulfilment was cut short: finish it
        if stored is None or stored.order.status not in OPEN:
            await self._orders.unlist_pending(order_id)  # terminal or done: never swept again
            return Swept.CLOSED
        order = stored.order
        if order.stripe_checkout_session_id:
            return await self._from_session(order)
        if order.stripe_payment_intent_id:
            return await self._from_payment_intent(order)
        # Old enough to be due, and no Stripe object was ever recorded: nobody got a way to pay it.
        return await self._fulfilment.expired(order_id)

    async def _from_session(self, order: Order) -> Outcome | Swept:
        session = await self._stripe.retrieve_checkout_session(order.stripe_checkout_session_id)
        payment = session_payment(session)
        if payment.settled:
            return await self._fulfilment.paid(order.order_id, payment)
        if session.get("status") == "expired":
            return await self._fulfilment.expired(order.order_id)
        return Swept.OPEN

    async def _from_payment_intent(self, order: Order) -> Outcome | Swept:
        intent = await self._stripe.retrieve_payment_intent(order.stripe_payment_intent_id)
        if intent["status"] == "succeeded":
            return await self._fulfilment.paid(order.order_id, intent_payment(intent))
        if intent["status"] in ("canceled", "requires_payment_method"):
            return await self._fulfilment.failed(order.order_id, intent["status"])
        return Swept.OPEN
