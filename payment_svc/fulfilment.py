"""The one path from a payment outcome to its effects: webhooks, off-session charges and the sweeper.

Every effect is idempotent on its own (balance credits and debits carry request ids derived from the
order, code confirmations are per order, moves are compare-and-set), so any step may run again after
a crash or alongside a duplicate event and the money still moves once. A payment fulfils an order only
when it is the order's own Stripe object, in the configured mode, currency and amount (verification).
"""

from __future__ import annotations

import collections
import logging
from collections.abc import Awaitable

from payment_svc.balance_entries import credit_top_up
from payment_svc.customers import Customers
from payment_svc.errors import PeerRejected, StripeRejected
from payment_svc.locks import KeyedLocks
from payment_svc.order_event_stream import OrderEventStream
from payment_svc.order_store import OrderStore
from payment_svc.orders import OPEN, Kind, Order, Status
from payment_svc.outcomes import Outcome
from payment_svc.ports import Balance, Pricing
from payment_svc.stripe_gateway import StripeGateway
from payment_svc.stripe_objects import Payment
from payment_svc.verification import NOT_OURS, Mismatch, mismatch
from svckit.clock import Clock
from svckit.errors import ServiceError, Unavailable

log = logging.getLogger(__name__)

_DELIVERED = frozenset({Status.FULFILLED, Status.REFUNDED, Status.DISPUTED})


class Fulfilment:
    def __init__(
        self,
        *,
        orders: OrderStore,
        pricing: Pricing,
        balance: Balance,
        customers: Customers,
        stripe: StripeGateway | None,
        events: OrderEventStream,
        clock: Clock,
        auto_refund: bool,
    ) -> None:
        self._orders = orders
        self._pricing = pricing
        self._balance = balance
        self._customers = customers
        self._stripe = stripe
        self._events = events
        self._clock = clock
        self._auto_refund = auto_refund
        self._locks = KeyedLocks()  # duplicates racing in one process queue up instead of both working
        self.mismatches: collections.Counter[str] = collections.Counter()  # metrics come later

    @property
    def locks(self) -> KeyedLocks:
        return self._locks

    def payment_mismatch(self, reason: Mismatch, order: Order | None, facts: dict[str, object]) -> Outcome:
        """A payment that is not the order's: acknowledged, nothing changes, logged with both sides."""
        self.mismatches[reason] += 1
        ours = (
            {}
            if order is None
            else {
                "order_id": order.order_id,
                "order_session": order.stripe_checkout_session_id,
                "order_intent": order.stripe_payment_intent_id,
                "order_amount_minor": order.amount_minor,
                "order_currency": order.currency,
            }
        )
        log.error("stripe payment does not match the order: %s", reason, extra={**ours, **facts})
        return Outcome.PAYMENT_MISMATCH

    async def paid(self, order_id: str, payment: Payment | None = None) -> Outcome:
        """Stripe proves `payment` (None: a free order, or a PAID order to finish) pays the order."""
        async with self._locks.hold(order_id):
            return await self.paid_locked(order_id, payment)

    async def paid_locked(self, order_id: str, payment: Payment | None) -> Outcome:
        stored = await self._orders.get(order_id)
        if stored is None:
            return Outcome.UNKNOWN_ORDER
        order = stored.order
        refused = None if payment is None else await self._refuse_payment(order, payment)
        if refused is not None:
            return refused
        if order.status in _DELIVERED:
            return Outcome.ALREADY_FULFILLED
        if order.status not in OPEN | {Status.PAID}:
            # Paid after it expired or failed, or a NEEDS_ATTENTION order whose refund is still due.
            reason = (
                order.failure_reason
                if order.status == Status.NEEDS_ATTENTION
                else f"paid_after_{order.status.lower()}"
            )
            return await self._needs_attention(order, reason, payment)
        if order.status != Status.PAID:
            paying = _paying(payment)
            result = await self._orders.update(order_id, self._clock.now_ms(), to=Status.PAID, set_=paying)
            if result is None:
                return Outcome.UNKNOWN_ORDER
            order = result.stored.order
            if order.status != Status.PAID:
                return await self.paid_locked(order_id, payment)  # moved meanwhile: decide again
        if order.stripe_payment_intent_id:
            await self._orders.link(order_id, payment_intent_id=order.stripe_payment_intent_id)
        try:
            await self._deliver(order)
        except Unavailable:
            raise
        except ServiceError as err:  # a peer's final verdict, e.g. CURRENCY_MISMATCH or a closed account
            return await self._needs_attention(order, err.reason, payment)
        await self._save_card(order, payment.payment_method_id if payment else "")
        await self._orders.update(order_id, self._clock.now_ms(), to=Status.FULFILLED)
        await self._orders.unlist_pending(order_id)
        return Outcome.FULFILLED

    async def _refuse_payment(self, order: Order, payment: Payment) -> Outcome | None:
        """The outcome when `payment` cannot fulfil the order; None when it pays it in full."""
        if not payment.settled:
            return Outcome.AWAITING_PAYMENT
        wrong = mismatch(order, payment, livemode=self._stripe.livemode if self._stripe else False)
        if wrong in NOT_OURS:
            return self.payment_mismatch(wrong, order, _facts(payment))
        if wrong is not None:
            # Our own session or intent, but not what the order asked for: money came in that we
            # will not deliver against, so it goes back.
            self.payment_mismatch(wrong, order, _facts(payment))
            return await self._needs_attention(order, wrong.value, payment)
        return None

    async def expired(self, order_id: str) -> Outcome:
        return await self._close(order_id, Status.EXPIRED, "")

    async def failed(self, order_id: str, reason: str) -> Outcome:
        return await self._close(order_id, Status.FAILED, reason)

    async def requires_action(self, order_id: str, reason: str) -> Outcome:
        async with self._locks.hold(order_id):
            result = await self._orders.update(
                order_id, self._clock.now_ms(), to=Status.REQUIRES_ACTION, set_={"failure_reason": reason}
            )
            if result is None:
                return Outcome.UNKNOWN_ORDER
            moved = result.stored.order.status == Status.REQUIRES_ACTION
            return Outcome.REQUIRES_ACTION if moved else Outcome.IGNORED_ORDER_STATE

    async def release_code(self, order: Order) -> None:
        """Gives the order's code reservation back; a release already done or lapsed is fine."""
        if order.discount_code:
            request_id = _attempt_request_id("release", order)
            await self._tolerate_final(
                self._pricing.release_discount_code(
                    order.discount_code, order_id=order.order_id, request_id=request_id
                ),
                order,
            )

    async def _deliver(self, order: Order) -> None:
        if order.kind == Kind.TOP_UP:
            await credit_top_up(self._balance, order, order.amount_minor, f"topup-{order.order_id}")
        else:
            if order.discount_code:
                await self._tolerate_final(
                    self._pricing.confirm_discount_code(
                        order.discount_code, order_id=order.order_id, request_id=f"confirm-{order.order_id}"
                    ),
                    order,
                )
            await self.publish(order, "order.paid")

    async def _needs_attention(self, order: Order, reason: str, payment: Payment | None) -> Outcome:
        """Final: the payment goes back (unless AUTO_REFUND is off) and the sweeper leaves the order alone."""
        set_: dict[str, object] = {"failure_reason": reason, **_paying(payment)}
        result = await self._orders.update(
            order.order_id, self._clock.now_ms(), to=Status.NEEDS_ATTENTION, set_=set_
        )
        if result is None:
            return Outcome.UNKNOWN_ORDER
        order = result.stored.order
        if order.status != Status.NEEDS_ATTENTION:
            return Outcome.IGNORED_ORDER_STATE
        log.error("paid order cannot be delivered: %s", order.failure_reason, extra=ctx(order))
        await self.release_code(order)
        await self._orders.unlist_pending(order.order_id)
        intent = order.stripe_payment_intent_id
        if self._auto_refund and self._stripe is not None and intent and not order.attention_refund_id:
            await self._refund_attention(self._stripe, order, intent)
        return Outcome.NEEDS_ATTENTION

    async def _refund_attention(self, stripe: StripeGateway, order: Order, payment_intent_id: str) -> None:
        """Stripe down raises (the event is retried); Stripe refusing is left to an operator."""
        metadata = {"order_id": order.order_id, "reason": order.failure_reason}
        try:
            refund_id = await stripe.refund(
                {"payment_intent": payment_intent_id, "metadata": metadata}, key=f"attention-{order.order_id}"
            )
        except StripeRejected as err:
            log.error("automatic refund refused; refund by hand: %s", err, extra=ctx(order))
            return
        await self._orders.update(
            order.order_id, self._clock.now_ms(), fill={"attention_refund_id": refund_id}
        )

    async def _close(self, order_id: str, status: Status, reason: str) -> Outcome:
        async with self._locks.hold(order_id):
            set_ = {"failure_reason": reason} if reason else {}
            result = await self._orders.update(order_id, self._clock.now_ms(), to=status, set_=set_)
            if result is None:
                return Outcome.UNKNOWN_ORDER
            order = result.stored.order
            if order.status != status:
                return Outcome.IGNORED_ORDER_STATE
            await self.release_code(order)  # also on a repeat: a release that failed before is done now
            await self._orders.unlist_pending(order_id)
            return Outcome.EXPIRED if status == Status.EXPIRED else Outcome.FAILED

    async def publish(self, order: Order, event_type: str) -> None:
        """At least once: a crash before the order's next state publishes again; consumers dedupe."""
        await self._events.publish(order, event_type)

    async def _save_card(self, order: Order, payment_method_id: str) -> None:
        """Makes the paying card the default for off-session use; best effort, the card stays attached."""
        if self._stripe is None or not order.stripe_customer_id or not order.stripe_payment_intent_id:
            return
        try:
            if not payment_method_id:
                intent = await self._stripe.retrieve_payment_intent(order.stripe_payment_intent_id)
                payment_method_id = intent.get("payment_method") or ""
            if payment_method_id:
                await self._stripe.set_default_payment_method(
                    order.stripe_customer_id, payment_method_id, order.order_id
                )
                await self._customers.remember_card(order.account_id, payment_method_id)
        except ServiceError as err:
            log.warning("could not save the card as default: %s", err, extra=ctx(order))

    @staticmethod
    async def _tolerate_final(call: Awaitable[object], order: Order) -> None:
        """A code reservation already released, confirmed or lapsed must not block the order's outcome."""
        try:
            await call
        except PeerRejected as err:
            log.warning("discount code reservation: %s", err, extra=ctx(order))


def _attempt_request_id(verb: str, order: Order) -> str:
    """Per reservation attempt: a code released before a session existed may be reserved again."""
    suffix = f"-{order.code_attempt}" if order.code_attempt else ""
    return f"{verb}-{order.order_id}{suffix}"


def reserve_request_id(order: Order) -> str:
    return _attempt_request_id("reserve", order)


def _paying(payment: Payment | None) -> dict[str, object]:
    """What an order records of the payment that paid it."""
    if payment is None:
        return {}
    return {"stripe_payment_intent_id": payment.payment_intent_id, "paid_minor": payment.amount_minor}


def _facts(payment: Payment) -> dict[str, object]:
    return {
        "stripe_session": payment.session_id,
        "stripe_intent": payment.payment_intent_id,
        "stripe_amount_minor": payment.amount_minor,
        "stripe_subtotal_minor": payment.subtotal_minor,
        "stripe_currency": payment.currency,
        "stripe_livemode": payment.livemode,
    }


def ctx(order: Order) -> dict[str, str]:
    return {"order_id": order.order_id, "account_id": order.account_id}
