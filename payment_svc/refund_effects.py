"""What Stripe's refunded total of an order's charge means for the balance: taken back, or given back
when a refund fails after it was reported. Both follow Stripe's current total, so events may repeat,
cross or arrive late and the money still moves once."""

from __future__ import annotations

import logging

from payment_svc.balance_entries import available_minor, credit_top_up, debit_refund
from payment_svc.errors import PeerRejected
from payment_svc.fulfilment import ctx
from payment_svc.order_store import OrderStore, RefundStep, RefundStepOutcome, RevertOutcome
from payment_svc.orders import Kind, Order
from payment_svc.outcomes import Outcome
from payment_svc.ports import Balance
from svckit.clock import Clock
from svckit.errors import Unavailable

log = logging.getLogger(__name__)

_REFUND_ATTEMPTS = 3


class RefundEffects:
    def __init__(self, *, orders: OrderStore, balance: Balance, clock: Clock) -> None:
        self._orders = orders
        self._balance = balance
        self._clock = clock

    async def follow(self, order: Order, stripe_refunded_minor: int) -> Outcome:
        """Brings the order to Stripe's refunded total of its charge."""
        revert = await self._orders.revert_refund(order.order_id, stripe_refunded_minor, self._clock.now_ms())
        if revert.outcome in (RevertOutcome.REVERTED, RevertOutcome.PENDING):
            if order.kind == Kind.TOP_UP and revert.give_back_minor > 0:
                request_id = f"refund-failed-{order.order_id}-{revert.generation}"
                await credit_top_up(self._balance, order, revert.give_back_minor, request_id)
            await self._orders.revert_done(order.order_id, revert.generation, self._clock.now_ms())
            return Outcome.REFUND_REVERTED
        stored = await self._orders.get(order.order_id)
        if stored is None:
            return Outcome.UNKNOWN_ORDER
        return await self._take_back(stored.order, stripe_refunded_minor)

    async def _take_back(self, order: Order, total_minor: int) -> Outcome:
        orders, order_id, now = self._orders, order.order_id, self._clock.now_ms()
        # A product's code redemption stays counted: there is nothing to take back.
        nothing_to_take = order.kind == Kind.PRODUCT
        step = await orders.claim_refund_step(order_id, total_minor, now, nothing_to_take=nothing_to_take)
        for _ in range(_REFUND_ATTEMPTS):
            if step.outcome != RefundStepOutcome.STEP or step.applied:
                return _outcome(step)
            if step.take_minor == -1:
                available = await available_minor(self._balance, order.account_id)
                step = await orders.decide_refund_step(
                    order_id, total_minor, min(step.delta_minor, available)
                )
            take = step.take_minor
            if take > 0:
                generation = f"{order.refund_generation}-" if order.refund_generation else ""
                try:
                    request_id = f"refund-{order_id}-{generation}{total_minor}-{take}"
                    await debit_refund(self._balance, order, take, request_id)
                except PeerRejected as err:
                    if err.reason != "INSUFFICIENT_FUNDS":
                        raise
                    # Spent meanwhile: that debit changed nothing, so asking for less is safe.
                    available = await available_minor(self._balance, order.account_id)
                    step = await orders.decide_refund_step(order_id, total_minor, min(take - 1, available))
                    continue
            step = await orders.apply_refund_step(order_id, total_minor, now)
            if step.delta_minor > step.take_minor:
                log.warning(
                    "top-up refund exceeds what is left of the balance",
                    extra={**ctx(order), "shortfall_minor": step.delta_minor - step.take_minor},
                )
        if step.outcome == RefundStepOutcome.STEP and not step.applied:
            raise Unavailable("the balance kept changing while a refund was taken back; retry")
        return _outcome(step)


def _outcome(step: RefundStep) -> Outcome:
    if step.outcome == RefundStepOutcome.NOT_REFUNDABLE:
        return Outcome.IGNORED_ORDER_STATE
    return Outcome.REFUND_SUPERSEDED if step.outcome == RefundStepOutcome.SUPERSEDED else Outcome.REFUNDED
