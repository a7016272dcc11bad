"""The one path from a payment outcome to its effects: webhooks, off-session charges and the sweeper.

Every effect is idempotent on its own (balance credits and debits carry request ids derived from the
order, code confirmations are per order, moves are compare-and-set), so any step may run again after
a crash or alongside a duplicate event and the money still moves once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from payment_svc.customers import Customers
from payment_svc.errors import PeerRejected
from payment_svc.locks import KeyedLocks
from payment_svc.order_store import OrderStore
from payment_svc.orders import OPEN, Kind, Order, Status
from payment_svc.peers import BalanceClient, PricingClient
from payment_svc.stripe_gateway import StripeGateway
from svckit.clock import Clock
from svckit.errors import ServiceError, Unavailable
from svckit.redis_client import RedisClient, tagged_key

log = logging.getLogger(__name__)

_REFUND_ATTEMPTS = 3


def payment_intent_key(payment_intent_id: str) -> str:
    return tagged_key("pay", payment_intent_id, "order")


@dataclass(frozen=True)
class OrderEvents:
    stream: str
    maxlen: int


class Fulfilment:
    def __init__(
        self,
        *,
        redis: RedisClient,
        orders: OrderStore,
        pricing: PricingClient,
        balance: BalanceClient,
        customers: Customers,
        stripe: StripeGateway | None,
        events: OrderEvents,
        clock: Clock,
    ) -> None:
        self._redis = redis
        self._orders = orders
        self._pricing = pricing
        self._balance = balance
        self._customers = customers
        self._stripe = stripe
        self._events = events
        self._clock = clock
        self._locks = KeyedLocks()  # duplicates racing in one process queue up instead of both working

    async def order_for_payment_intent(self, payment_intent_id: str) -> str | None:
        return await self._redis.get(payment_intent_key(payment_intent_id))

    async def paid(self, order_id: str, *, payment_intent_id: str = "", payment_method_id: str = "") -> str:
        """Stripe says the order is paid: credit the top-up or grant the product, once."""
        async with self._locks.hold(order_id):
            return await self._paid(order_id, payment_intent_id, payment_method_id)

    async def expired(self, order_id: str) -> str:
        return await self._close(order_id, Status.EXPIRED, "")

    async def failed(self, order_id: str, reason: str) -> str:
        return await self._close(order_id, Status.FAILED, reason)

    async def requires_action(self, order_id: str, reason: str) -> str:
        async with self._locks.hold(order_id):
            result = await self._orders.update(
                order_id, self._clock.now_ms(), to=Status.REQUIRES_ACTION, set_={"failure_reason": reason}
            )
            if result is None:
                return "unknown_order"
            stored = result[1]
            return (
                "requires_action" if stored.order.status == Status.REQUIRES_ACTION else _ignored(stored.order)
            )

    async def refunded(self, order_id: str, refunded_total_minor: int, payment_intent_id: str) -> str:
        """Stripe reports `refunded_total_minor` refunded so far; a top-up's balance gives it back once."""
        async with self._locks.hold(order_id):
            stored = await self._orders.get(order_id)
            if stored is None:
                return "unknown_order"
            if stored.order.status in OPEN | {Status.PAID}:
                # A refund proves the payment went through, so its fulfilment comes first.
                await self._paid(order_id, payment_intent_id, "")
            return await self._refund(stored.order, refunded_total_minor)

    async def _paid(self, order_id: str, payment_intent_id: str, payment_method_id: str) -> str:
        # The paying intent replaces one that failed before (an off-session charge that needed action).
        paying = {"stripe_payment_intent_id": payment_intent_id}
        result = await self._orders.update(order_id, self._clock.now_ms(), to=Status.PAID, set_=paying)
        if result is None:
            return "unknown_order"
        _, stored = result
        order = stored.order
        if order.status in (Status.FULFILLED, Status.REFUNDED):
            return "already_fulfilled"
        if order.status != Status.PAID:
            log.error("payment for an order that is %s; refund it by hand", order.status, extra=_ctx(order))
            return _ignored(order)
        if order.stripe_payment_intent_id:
            await self._redis.set(payment_intent_key(order.stripe_payment_intent_id), order.order_id)
        if order.kind == Kind.TOP_UP:
            await self._balance.credit_top_up(
                order.account_id,
                order.amount_minor,
                order.currency,
                order.order_id,
                f"topup-{order.order_id}",
            )
        else:
            await self._redeem_code(order)
            await self._publish_paid(order)
        await self._save_card(order, payment_method_id)
        await self._orders.update(order_id, self._clock.now_ms(), to=Status.FULFILLED)
        await self._orders.unlist_pending(order_id)
        return "fulfilled"

    async def _close(self, order_id: str, status: Status, reason: str) -> str:
        async with self._locks.hold(order_id):
            set_ = {"failure_reason": reason} if reason else {}
            result = await self._orders.update(order_id, self._clock.now_ms(), to=status, set_=set_)
            if result is None:
                return "unknown_order"
            _, stored = result
            order = stored.order
            if order.status != status:
                return _ignored(order)
            # Also on a repeat: a release that failed before is done now.
            if order.discount_code:
                await self._tolerate_final(
                    self._pricing.release_code(order.discount_code, order.order_id), order
                )
            await self._orders.unlist_pending(order_id)
            return status.lower()

    async def _redeem_code(self, order: Order) -> None:
        if order.discount_code:
            await self._tolerate_final(self._pricing.confirm_code(order.discount_code, order.order_id), order)

    async def _publish_paid(self, order: Order) -> None:
        """At least once: a crash before FULFILLED publishes again, so consumers dedupe by order_id."""
        fields = {
            "type": "order.paid",
            "order_id": order.order_id,
            "account_id": order.account_id,
            "product_id": order.product_id,
            "amount_minor": order.amount_minor,
            "currency": order.currency,
            "discount_code": order.discount_code,
            "stripe_payment_intent_id": order.stripe_payment_intent_id,
        }
        await self._redis.xadd(self._events.stream, fields, maxlen=self._events.maxlen, approximate=True)

    async def _save_card(self, order: Order, payment_method_id: str) -> None:
        """Makes the paying card the default for off-session use; best effort, the card stays attached."""
        if self._stripe is None or not order.stripe_customer_id or not order.stripe_payment_intent_id:
            return
        try:
            if not payment_method_id:
                intent = await self._stripe.retrieve_payment_intent(order.stripe_payment_intent_id)
                payment_method_id = intent.get("payment_method") or ""
            if payment_method_id:
                await self._stripe.set_default_payment_method(order.stripe_customer_id, payment_method_id)
                await self._customers.remember_card(order.account_id, payment_method_id)
        except ServiceError as err:
            log.warning("could not save the card as default: %s", err, extra=_ctx(order))

    async def _refund(self, order: Order, total_minor: int) -> str:
        now = self._clock.now_ms()
        if order.kind == Kind.PRODUCT:
            # The product's code redemption stays counted; there is nothing to take back here.
            step = await self._step(order, "claim", total_minor, now, 1)
            return _refund_outcome(step)
        step = await self._step(order, "claim", total_minor, now, 0)
        for _ in range(_REFUND_ATTEMPTS):
            if step[0] != "step" or step[3] == 1:
                return _refund_outcome(step)
            delta, take = step[1], step[2]
            if take == -1:
                available = await self._balance.available_minor(order.account_id)
                step = await self._step(order, "decide", total_minor, now, min(delta, available))
                take = step[2]
            if take > 0:
                try:
                    await self._balance.debit_refund(
                        order.account_id,
                        take,
                        order.currency,
                        order.order_id,
                        f"refund-{order.order_id}-{total_minor}-{take}",
                    )
                except PeerRejected as err:
                    if err.reason != "INSUFFICIENT_FUNDS":
                        raise
                    # Spent meanwhile: that debit changed nothing, so asking for less is safe.
                    available = await self._balance.available_minor(order.account_id)
                    step = await self._step(order, "decide", total_minor, now, min(take - 1, available))
                    continue
            step = await self._step(order, "apply", total_minor, now, 0)
            if step[1] > step[2]:
                log.warning(
                    "top-up refund exceeds what is left of the balance",
                    extra={**_ctx(order), "shortfall_minor": step[1] - step[2]},
                )
        if step[0] == "step" and step[3] == 0:
            raise Unavailable("the balance kept changing while a refund was taken back; retry")
        return _refund_outcome(step)

    async def _step(self, order: Order, op: str, total_minor: int, now_ms: int, value: int) -> list:
        return await self._orders.refund_step(order.order_id, op, total_minor, now_ms, value)

    @staticmethod
    async def _tolerate_final(call, order: Order) -> None:
        """A code reservation already released, confirmed or lapsed must not block the order's outcome."""
        try:
            await call
        except PeerRejected as err:
            log.warning("discount code reservation: %s", err, extra=_ctx(order))


def _ignored(order: Order) -> str:
    return f"ignored_{order.status.lower()}"


def _refund_outcome(step: list) -> str:
    if step[0] == "not_refundable":
        return f"ignored_{str(step[1]).lower()}"
    return "refund_superseded" if step[0] == "superseded" else "refunded"


def _ctx(order: Order) -> dict[str, str]:
    return {"order_id": order.order_id, "account_id": order.account_id}
