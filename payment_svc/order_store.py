"""Orders in Redis: one hash per order under its own hash tag, a per-account index and a pending index.

Keys (all owned here):
- `pay:{<order_id>}` hash: the order's fields, its status history, refund steps (`refund:...`),
  refund reverts (`refund_revert:<generation>`), dispute effects (`dispute_*`), RefundOrder requests
  (`refund_request:<request_id>`) and the frozen first response (`receipt`). No TTL.
- `pay:{<account_id>}:orders` zset: the account's order ids by create_ms. No TTL.
- `pay:pending` zset: open orders by create_ms, for the sweeper. No TTL (members leave when closed).
- `pay:{<cs_id>}:order` string: the order a Checkout Session was opened for. No TTL.
- `pay:{<pi_id>}:order` string: the order a PaymentIntent pays. No TTL.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass, fields

from payment_svc.orders import ENTERED_FROM, Kind, Order, Status
from svckit.errors import RequestIdReused
from svckit.redis_client import RedisClient, register_scripts, tagged_key

_INT_FIELDS = frozenset(
    {
        "amount_minor",
        "blocks",
        "session_expires_at_s",
        "refunded_minor",
        "refund_shortfall_minor",
        "code_attempt",
        "promotion_codes",
        "paid_minor",
        "disputed_minor",
        "dispute_shortfall_minor",
        "refund_generation",
        "create_ms",
        "update_ms",
    }
)
PENDING_INDEX = "pay:pending"  # every open order by create_ms, for the reconciliation sweeper


@dataclass(frozen=True)
class StoredOrder:
    order: Order
    receipt: Order | None  # the order as the creating RPC first answered it, once frozen
    fingerprint: str  # of the request that created it


@dataclass(frozen=True)
class DisputeState:
    """An order's dispute as the dispute scripts left it."""

    outcome: str  # recorded, decided, kept, marked, other_dispute, not_disputable, unknown_order
    order: Order | None
    take_minor: int  # -1 while undecided
    taken: bool
    returned: bool
    published: bool


@dataclass(frozen=True)
class RefundStep:
    """A step of a refund: `outcome` is step, superseded (a larger total came first) or not_refundable."""

    outcome: str
    delta_minor: int  # what this step refunds on top of the previous total
    take_minor: int  # what the balance gives back for it; -1 while undecided
    applied: bool


@dataclass(frozen=True)
class RefundRevert:
    outcome: str  # reverted, pending, nothing, unknown_order
    generation: int
    give_back_minor: int


def _named(flat: list) -> dict[str, str]:
    """A script's flat name/value reply as a dict; the one place replies are read."""
    return dict(zip(flat[::2], flat[1::2], strict=True))


def _dispute_state(order_id: str, flat: list) -> DisputeState:
    raw = _named(flat)
    outcome = raw.pop("outcome")
    return DisputeState(
        outcome=outcome,
        order=_decode(order_id, raw) if "status" in raw else None,
        take_minor=int(raw.get("dispute_take_minor", -1)),
        taken=raw.get("dispute_taken") == "1",
        returned=raw.get("dispute_returned") == "1",
        published=raw.get("dispute_published") == "1",
    )


def session_order_key(session_id: str) -> str:
    return tagged_key("pay", session_id, "order")


def payment_intent_order_key(payment_intent_id: str) -> str:
    return tagged_key("pay", payment_intent_id, "order")


def order_key(order_id: str) -> str:
    return tagged_key("pay", order_id)


def account_orders_key(account_id: str) -> str:
    return tagged_key("pay", account_id, "orders")


def encode_fields(values: Mapping[str, object]) -> dict[str, str]:
    """Store form of order fields; empty values are left out so fills (HSETNX) can set them later."""
    out = {}
    for name, value in values.items():
        if name == "quote":
            value = base64.b64encode(value).decode()
        if value not in ("", 0, b"", None) or name == "amount_minor":
            out[name] = str(value)
    return out


def _decode(order_id: str, raw: Mapping[str, str]) -> Order:
    values: dict[str, object] = {}
    for f in fields(Order):
        if f.name in ("order_id", "history") or f.name not in raw:
            continue
        text = raw[f.name]
        if f.name in _INT_FIELDS:
            values[f.name] = int(text)
        elif f.name == "quote":
            values[f.name] = base64.b64decode(text)
        else:
            values[f.name] = text
    values["kind"] = Kind(raw["kind"])
    values["status"] = Status(raw["status"])
    history = tuple(
        (Status(name), int(ms)) for name, ms in (step.split(":") for step in raw["history"].split(","))
    )
    return Order(order_id=order_id, history=history, **values)


def _stored(order_id: str, flat: list[str]) -> StoredOrder:
    raw = dict(zip(flat[::2], flat[1::2], strict=True))
    receipt = raw.get("receipt")
    return StoredOrder(
        _decode(order_id, raw),
        _decode(order_id, json.loads(receipt)) if receipt else None,
        raw.get("fingerprint", ""),
    )


class OrderStore:
    def __init__(self, redis: RedisClient) -> None:
        self._redis = redis
        self._scripts = register_scripts(redis, "payment_svc")

    async def create(self, order: Order, request_fingerprint: str) -> tuple[bool, StoredOrder]:
        """Creates the order as PENDING unless it exists; raises RequestIdReused on other params."""
        values = {f.name: getattr(order, f.name) for f in fields(Order)}
        for name in ("order_id", "status", "history", "create_ms", "update_ms"):
            del values[name]
        flat = [item for pair in encode_fields(values).items() for item in pair]
        result = await self._scripts["create_order"](
            keys=[order_key(order.order_id)], args=[request_fingerprint, order.create_ms, *flat]
        )
        if result[0] == -1:
            raise RequestIdReused("request_id was already used with different parameters")
        return result[0] == 1, _stored(order.order_id, result[1])

    async def get(self, order_id: str) -> StoredOrder | None:
        flat = await self._redis.hgetall(order_key(order_id))
        if not flat:
            return None
        return _stored(order_id, [item for pair in flat.items() for item in pair])

    async def update(
        self,
        order_id: str,
        now_ms: int,
        *,
        to: Status | None = None,
        set_: Mapping[str, object] | None = None,
        fill: Mapping[str, object] | None = None,
        receipt: bool = False,
    ) -> tuple[bool, StoredOrder] | None:
        """Moves the order to `to` if the state machine allows it from the current status.

        `set_` is written only with the move; `fill` sets fields still unset either way; `receipt`
        freezes the order as the creating RPC's response. Returns (moved, order), None if unknown.
        """
        froms = sorted(ENTERED_FROM[to]) if to else []
        sets = [item for pair in encode_fields(set_ or {}).items() for item in pair]
        fills = [item for pair in encode_fields(fill or {}).items() for item in pair]
        args = [to or "", now_ms, "1" if receipt else "0", len(froms), *froms, len(sets) // 2, *sets, *fills]
        result = await self._scripts["update_order"](keys=[order_key(order_id)], args=args)
        if result[0] == -1:
            return None
        return result[0] == 1, _stored(order_id, result[1])

    async def refund_step(
        self, order_id: str, op: str, total_minor: int, now_ms: int, value: int
    ) -> RefundStep:
        """One refund_step.lua op (claim, decide or apply) on the step named by `total_minor`."""
        reply = await self._scripts["refund_step"](
            keys=[order_key(order_id)], args=[op, total_minor, now_ms, value]
        )
        if reply[0] == "step":
            delta, take, applied = (int(x) for x in reply[1:])
            return RefundStep("step", delta, take, applied == 1)
        return RefundStep(reply[0], 0, 0, False)

    async def refund_request(
        self, order_id: str, request_id: str, request: str, amount_minor: int
    ) -> tuple[str, int, str]:
        """(fingerprint, amount, Stripe refund id or "") of the RefundOrder request, recorded once."""
        fp, amount, refund_id = await self._scripts["refund_request"](
            keys=[order_key(order_id)], args=[request_id, request, amount_minor]
        )
        return fp, int(amount), refund_id

    async def seen_refund_request(self, order_id: str, request_id: str) -> bool:
        return bool(await self._redis.hexists(order_key(order_id), f"refund_request:{request_id}"))

    async def record_refund_id(
        self, order_id: str, request_id: str, request: str, amount_minor: int, refund_id: str
    ) -> None:
        value = f"{request}|{amount_minor}|{refund_id}"
        await self._redis.hset(order_key(order_id), f"refund_request:{request_id}", value)

    async def index(self, order: Order) -> None:
        """Lists the order for its account and, while open, for the sweeper; idempotent."""
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.zadd(account_orders_key(order.account_id), {order.order_id: order.create_ms})
            pipe.zadd(PENDING_INDEX, {order.order_id: order.create_ms})
            await pipe.execute()

    async def renew_session_expiry(self, order_id: str, seen_s: int, proposed_s: int) -> int:
        """The expires_at for the order's next session: `proposed_s` if nobody renewed `seen_s` first."""
        raw = _named(
            await self._scripts["renew_session_expiry"](keys=[order_key(order_id)], args=[seen_s, proposed_s])
        )
        return int(raw["session_expires_at_s"])

    async def bump_code_attempt(self, order_id: str) -> None:
        """After a released reservation, the next reservation is a new request to pricing_svc."""
        await self._redis.hincrby(order_key(order_id), "code_attempt", 1)

    async def link(self, order_id: str, *, session_id: str = "", payment_intent_id: str = "") -> None:
        """Remembers which order a Stripe object was created for; events find orders only this way."""
        async with self._redis.pipeline(transaction=False) as pipe:
            if session_id:
                pipe.set(session_order_key(session_id), order_id)
            if payment_intent_id:
                pipe.set(payment_intent_order_key(payment_intent_id), order_id)
            await pipe.execute()

    async def order_for_session(self, session_id: str) -> str | None:
        return await self._redis.get(session_order_key(session_id))

    async def order_for_payment_intent(self, payment_intent_id: str) -> str | None:
        return await self._redis.get(payment_intent_order_key(payment_intent_id))

    async def record_dispute(
        self, order_id: str, dispute_id: str, amount_minor: int, status: str, now_ms: int
    ) -> DisputeState:
        flat = await self._scripts["dispute_record"](
            keys=[order_key(order_id)], args=[dispute_id, amount_minor, status, now_ms]
        )
        return _dispute_state(order_id, flat)

    async def decide_dispute(self, order_id: str, dispute_id: str, take_minor: int) -> DisputeState:
        flat = await self._scripts["dispute_decide"](
            keys=[order_key(order_id)], args=[dispute_id, take_minor]
        )
        return _dispute_state(order_id, flat)

    async def mark_dispute(self, order_id: str, dispute_id: str, effect: str, now_ms: int) -> DisputeState:
        flat = await self._scripts["dispute_mark"](
            keys=[order_key(order_id)], args=[dispute_id, effect, now_ms]
        )
        return _dispute_state(order_id, flat)

    async def revert_refund(self, order_id: str, stripe_refunded_minor: int, now_ms: int) -> RefundRevert:
        raw = _named(
            await self._scripts["refund_revert"](
                keys=[order_key(order_id)], args=[stripe_refunded_minor, now_ms]
            )
        )
        return RefundRevert(raw["outcome"], int(raw["generation"]), int(raw["give_back_minor"]))

    async def revert_done(self, order_id: str, generation: int, now_ms: int) -> None:
        await self._scripts["refund_revert_done"](keys=[order_key(order_id)], args=[generation, now_ms])

    async def unlist_pending(self, order_id: str) -> None:
        await self._redis.zrem(PENDING_INDEX, order_id)

    async def pending_before(self, before_ms: int, limit: int) -> list[str]:
        return await self._redis.zrangebyscore(PENDING_INDEX, "-inf", before_ms, start=0, num=limit)

    async def page(self, account_id: str, after_order_id: str, size: int) -> list[Order] | None:
        """Up to `size` orders after `after_order_id`, newest first; None if that order is not listed."""
        ids = await self._scripts["page_orders"](
            keys=[account_orders_key(account_id)], args=[after_order_id, size]
        )
        if ids == -1:
            return None
        async with self._redis.pipeline(transaction=False) as pipe:
            for order_id in ids:
                pipe.hgetall(order_key(order_id))
            found = await pipe.execute()
        return [
            _stored(order_id, [item for pair in raw.items() for item in pair]).order
            for order_id, raw in zip(ids, found, strict=True)
            if raw
        ]
