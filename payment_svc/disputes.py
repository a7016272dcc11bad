"""Chargebacks: a disputed top-up gives its amount back from the balance (as far as it goes) until the
dispute is won; a disputed product is announced as `order.disputed`. Each step is recorded on the order,
so events may repeat or cross (closed before created) and the money still moves once."""

from __future__ import annotations

import logging

from payment_svc.balance_entries import available_minor, credit_top_up, debit_refund
from payment_svc.errors import PeerRejected
from payment_svc.fulfilment import Fulfilment, ctx
from payment_svc.order_store import DisputeEffect, DisputeOutcome, DisputeState, OrderStore
from payment_svc.orders import Kind, Order
from payment_svc.outcomes import Outcome
from payment_svc.ports import Balance
from payment_svc.stripe_objects import Dispute
from svckit.clock import Clock
from svckit.errors import Unavailable

log = logging.getLogger(__name__)

_ATTEMPTS = 3
_OUTCOMES = {"open": Outcome.DISPUTE_OPEN, "won": Outcome.DISPUTE_WON, "lost": Outcome.DISPUTE_LOST}


class Disputes:
    def __init__(self, *, orders: OrderStore, balance: Balance, fulfilment: Fulfilment, clock: Clock) -> None:
        self._orders = orders
        self._balance = balance
        self._fulfilment = fulfilment
        self._clock = clock

    async def apply(self, order_id: str, dispute: Dispute) -> Outcome:
        if dispute.status == "inquiry":
            return Outcome.IGNORED  # an inquiry moves no money until it becomes a dispute
        async with self._fulfilment.locks.hold(order_id):
            state = await self._orders.record_dispute(
                order_id, dispute.dispute_id, dispute.amount_minor, dispute.status, self._clock.now_ms()
            )
            if state.outcome != DisputeOutcome.RECORDED or state.order is None:
                log.error("dispute not applied: %s", state.outcome, extra={"order_id": order_id})
                unknown = state.outcome == DisputeOutcome.UNKNOWN_ORDER
                return Outcome.UNKNOWN_ORDER if unknown else Outcome.IGNORED_ORDER_STATE
            order = state.order
            if order.kind == Kind.TOP_UP:
                state = await self._settle_balance(state, dispute.dispute_id)
            elif not state.published:
                await self._fulfilment.publish(order, "order.disputed")
                state = await self._orders.mark_dispute(
                    order_id, dispute.dispute_id, DisputeEffect.PUBLISHED, self._clock.now_ms()
                )
            return _OUTCOMES[state.order.dispute_status] if state.order else Outcome.UNKNOWN_ORDER

    async def _settle_balance(self, state: DisputeState, dispute_id: str) -> DisputeState:
        """Open or lost: the amount is taken (once). Won after it was taken: it is given back (once)."""
        for _ in range(_ATTEMPTS):
            order = state.order
            if order is None:
                return state
            if order.dispute_status in ("open", "lost") and not state.taken:
                state = await self._take(order, state, dispute_id)
            elif order.dispute_status == "won" and state.taken and not state.returned:
                await credit_top_up(self._balance, order, state.take_minor, f"dispute-won-{dispute_id}")
                state = await self._orders.mark_dispute(
                    order.order_id, dispute_id, DisputeEffect.RETURNED, self._clock.now_ms()
                )
            else:
                return state
        raise Unavailable("the balance kept changing while a dispute was settled; retry")

    async def _take(self, order: Order, state: DisputeState, dispute_id: str) -> DisputeState:
        if state.take_minor == -1:
            available = await available_minor(self._balance, order.account_id)
            state = await self._orders.decide_dispute(
                order.order_id, dispute_id, min(order.disputed_minor, available)
            )
        take = state.take_minor
        if take > 0:
            try:
                await debit_refund(self._balance, order, take, f"dispute-{dispute_id}-{take}")
            except PeerRejected as err:
                if err.reason != "INSUFFICIENT_FUNDS":
                    raise
                # Spent meanwhile: that debit changed nothing, so asking for less is safe.
                available = await available_minor(self._balance, order.account_id)
                return await self._orders.decide_dispute(order.order_id, dispute_id, min(take - 1, available))
        now_ms = self._clock.now_ms()
        state = await self._orders.mark_dispute(order.order_id, dispute_id, DisputeEffect.TAKEN, now_ms)
        if state.order is not None and state.order.dispute_shortfall_minor:
            log.warning(
                "disputed top-up exceeds what is left of the balance",
                extra={**ctx(order), "shortfall_minor": state.order.dispute_shortfall_minor},
            )
        return state
