"""What Stripe's refunded total of an order's charge means for the balance: taken back, or given back
when a refund fails after it was reported. Both follow Stripe's current total, so events may repeat,
cross or arrive late and the money still moves once."""

from __future__ import annotations

import logging

from payment_svc.errors import PeerRejected
from payment_svc.fulfilment import ctx
from payment_svc.order_store import OrderStore, RefundStep
from payment_svc.orders import Kind, Order
from payment_svc.outcomes import Outcome
from payment_svc.peers import BalanceClient
from svckit.clock import Clock
from svckit.errors import Unavailable

log = logging.getLogger(__name__)

_REFUND_ATTEMPTS = 3


class RefundEffects:
    def __init__(self, *, orders: OrderStore, balance: BalanceClient, clock: Clock) -> None:
        self._orders = orders
        self._balance = balance
        self._clock = clock

    async def follow(self, order: Order, stripe_refunded_minor: int) -> Outcome:
        """Brings the order to Stripe's refunded total of its charge."""
        revert = await self._orders.revert_refund(order.order_id, stripe_refunded_minor, self._clock.now_ms())
        if revert.outcome in ("reverted", "pending"):
            if order.kind == Kind.TOP_UP and revert.give_back_minor > 0:
                await self._balance.credit_top_up(
                    order.account_id,
                    revert.give_back_minor,
                    order.currency,
                    order.order_id,
                    f"refund-failed-{order.order_id}-{revert.generation}",
                )
            await self._orders.revert_done(order.order_id, revert.generation, self._clock.now_ms())
            return Outcome.REFUND_REVERTED
        stored = await self._orders.get(order.order_id)
        if stored is None:
            return Outcome.UNKNOWN_ORDER
        return await self._take_back(stored.order, stripe_refunded_minor)

    async def _take_back(self, order: Order, total_minor: int) -> Outcome:
        now = self._clock.now_ms()
        if order.kind == Kind.PRODUCT:
            # The product's code redemption stays counted; there is nothing to take back here.
            return _outcome(await self._step(order, "claim", total_minor, now, 1))
        step = await self._step(order, "claim", total_minor, now, 0)
        for _ in range(_REFUND_ATTEMPTS):
            if step.outcome != "step" or step.applied:
                return _outcome(step)
            if step.take_minor == -1:
                available = await self._balance.available_minor(order.account_id)
                step = await self._step(order, "decide", total_minor, now, min(step.delta_minor, available))
            take = step.take_minor
            if take > 0:
                generation = f"{order.refund_generation}-" if order.refund_generation else ""
                try:
                    await self._balance.debit_refund(
                        order.account_id,
                        take,
                        order.currency,
                        order.order_id,
                        f"refund-{order.order_id}-{generation}{total_minor}-{take}",
                    )
                except PeerRejected as err:
                    if err.reason != "INSUFFICIENT_FUNDS":
                        raise
                    # Spent meanwhile: that debit changed nothing, so asking for less is safe.
                    available = await self._balance.available_minor(order.account_id)
                    step = await self._step(order, "decide", total_minor, now, min(take - 1, available))
                    continue
            step = await self._step(order, "apply", total_minor, now, 0)
            if step.delta_minor > step.take_minor:
                log.warning(
                    "top-up refund exceeds what is left of the balance",
                    extra={**ctx(order), "shortfall_minor": step.delta_minor - step.take_minor},
                )
        if step.outcome == "step" and not step.applied:
            raise Unavailable("the balance kept changing while a refund was taken back; retry")
        return _outcome(step)

    async def _step(self, order: Order, op: str, total_minor: int, now_ms: int, value: int) -> RefundStep:
        return await self._orders.refund_step(order.order_id, op, total_minor, now_ms, value)


def _outcome(step: RefundStep) -> Outcome:
    if step.outcome == "not_refundable":
        return Outcome.IGNORED_ORDER_STATE
    return Outcome.REFUND_SUPERSEDED if step.outcome == "superseded" else Outcome.REFUNDED
