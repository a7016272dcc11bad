"""Orders in Redis: one hash per order, the indexes that find orders, one Lua script per verb."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from enum import StrEnum
from typing import Any, cast

from payment_svc import metrics
from payment_svc.orders import ENTERED_FROM, Kind, Order, Status
from payment_svc.script_reply import flat_pairs, named, text, texts
from svckit.errors import RequestIdReused
from svckit.redis_client import RedisClient, register_scripts, tagged_key
from svckit.replica_acks import Command, acked_writes
from svckit.script_pipe import ScriptPipe

_PENDING_ORDERS = "pay:pending_orders"


def _order_key(order_id: str) -> str:
    return tagged_key("pay:order", order_id)


def _account_orders_key(account_id: str) -> str:
    return tagged_key("pay:account_orders", account_id)


def _session_order_key(checkout_session_id: str) -> str:
    return tagged_key("pay:session_order", checkout_session_id)


def _intent_order_key(payment_intent_id: str) -> str:
    return tagged_key("pay:intent_order", payment_intent_id)


@dataclass(frozen=True)
class StoredOrder:
    order: Order
    receipt: Order | None  # the order as the creating RPC first answered it, once frozen
    fingerprint: str  # of the request that created it


@dataclass(frozen=True)
class OrderChange:
    """What update_order.lua did: `moved` when the order entered the status asked for."""

    moved: bool
    stored: StoredOrder


class DisputeOutcome(StrEnum):
    RECORDED = "recorded"
    DECIDED = "decided"
    KEPT = "kept"
    MARKED = "marked"
    OTHER_DISPUTE = "other_dispute"
    NOT_DISPUTABLE = "not_disputable"
    UNKNOWN_ORDER = "unknown_order"


@dataclass(frozen=True)
class DisputeState:
    """An order's dispute as the dispute scripts left it."""

    outcome: DisputeOutcome
    order: Order | None
    take_minor: int  # -1 while undecided
    taken: bool
    returned: bool
    published: bool


class DisputeEffect(StrEnum):
    TAKEN = "taken"  # the debit of a disputed top-up
    RETURNED = "returned"  # the credit after a won dispute
    PUBLISHED = "published"  # order.disputed on the order events stream


class RefundStepOutcome(StrEnum):
    STEP = "step"
    SUPERSEDED = "superseded"  # a larger total came first
    NOT_REFUNDABLE = "not_refundable"


@dataclass(frozen=True)
class RefundStep:
    """A step of a refund; the amounts are 0 unless `outcome` is STEP."""

    outcome: RefundStepOutcome
    delta_minor: int  # what this step refunds on top of the previous total
    take_minor: int  # what the balance gives back for it; -1 while undecided
    applied: bool


class RevertOutcome(StrEnum):
    REVERTED = "reverted"
    PENDING = "pending"  # a revert recorded earlier whose credit is not done yet
    NOTHING = "nothing"
    UNKNOWN_ORDER = "unknown_order"


@dataclass(frozen=True)
class RefundRevert:
    outcome: RevertOutcome
    generation: int
    give_back_minor: int


@dataclass(frozen=True)
class RefundRequest:
    """A RefundOrder request as first recorded on its order."""

    fingerprint: str
    amount_minor: int
    stripe_refund_id: str  # "" until Stripe's refund is recorded


def encode_fields(values: Mapping[str, object]) -> dict[str, str]:
    """Store form of order fields; empty values are left out so fills (HSETNX) can set them later."""
    out = {}
    for name, value in values.items():
        if isinstance(value, bytes):
            value = base64.b64encode(value).decode()
        if value not in ("", 0, None) or name == "amount_minor":
            out[name] = str(value)
    return out


# How each Order field is read back, by its annotation (the module uses postponed annotations).
_DECODERS: dict[str, Callable[[str], Any]] = {
    "str": str,
    "int": int,
    "bytes": base64.b64decode,
    "Kind": Kind,
    "Status": Status,
}


def _decode(order_id: str, raw: Mapping[str, Any]) -> Order:
    values: dict[str, Any] = {
        f.name: _DECODERS[str(f.type)](raw[f.name])
        for f in fields(Order)
        if f.name in raw and f.name not in ("order_id", "history")
    }
    history = tuple(
        (Status(name), int(ms)) for name, ms in (step.split(":") for step in raw["history"].split(","))
    )
    return Order(order_id=order_id, history=history, **values)


def _stored(order_id: str, raw: Mapping[str, Any]) -> StoredOrder:
    receipt = raw.get("receipt")
    return StoredOrder(
        _decode(order_id, raw),
        _decode(order_id, json.loads(receipt)) if receipt else None,
        raw.get("fingerprint", ""),
    )


def _dispute_state(order_id: str, raw: dict[str, Any]) -> DisputeState:
    return DisputeState(
        outcome=DisputeOutcome(raw["outcome"]),
        order=_decode(order_id, raw) if "status" in raw else None,
        take_minor=int(raw.get("dispute_take_minor", -1)),
        taken=raw.get("dispute_taken") == "1",
        returned=raw.get("dispute_returned") == "1",
        published=raw.get("dispute_published") == "1",
    )


def _counted(raw: dict[str, Any]) -> dict[str, Any]:
    """Counts the transitions a refund or dispute script reports (`moved_to`, see with_moves)."""
    if raw.get("moved_to"):
        for status in raw["moved_to"].split(","):
            metrics.order_entered(raw["moved_kind"], status)
    return raw


def _refund_step(raw: dict[str, Any]) -> RefundStep:
    outcome = RefundStepOutcome(raw["outcome"])
    if outcome != RefundStepOutcome.STEP:
        return RefundStep(outcome, 0, 0, False)
    return RefundStep(outcome, int(raw["delta_minor"]), int(raw["take_minor"]), raw["applied"] == "1")


class OrderStore:
    """Keys (all owned here; nothing else builds them). The project has no production deployment yet, so
    these names replaced the earlier ones without a migration.
    - `pay:order:{<order_id>}` hash, no TTL: the order's fields, its status history, refund steps
      (`refund:...`), refund reverts (`refund_revert:<generation>`), dispute effects (`dispute_*`),
      RefundOrder requests (`refund_request:<request_id>`) and the frozen first response (`receipt`).
    - `pay:account_orders:{<account_id>}` sorted set, no TTL: the account's order ids by create_ms.
    - `pay:pending_orders` sorted set, no TTL, no hash tag: open orders by create_ms, for the sweeper
      (members leave when the order closes).
    - `pay:session_order:{<checkout_session_id>}` string, no TTL: the order a Checkout Session was opened for.
    - `pay:intent_order:{<payment_intent_id>}` string, no TTL: the order a PaymentIntent pays.
    Every script touches one order hash only, so each runs on that order's slot. With replica acks on,
    every write but unlist_pending's returns once the replicas hold it (scripts and plain writes alike).
    """

    def __init__(self, redis: RedisClient, pipe: ScriptPipe | None = None) -> None:
        self._redis = redis
        self._scripts = register_scripts(redis, "payment_svc", pipe)
        self._pipe = pipe  # where there is one, a checkout's plain commands take it too: less CPU each

    async def _run(self, script: str, order_id: str, *args: str | int) -> dict[str, Any]:
        """One EVALSHA on the order's hash; its reply by name."""
        return named(await self._scripts[script](keys=[_order_key(order_id)], args=list(args)))

    async def create(self, order: Order, request_fingerprint: str) -> tuple[bool, StoredOrder]:
        """Creates the order as PENDING unless it exists; raises RequestIdReused on other params."""
        values = {f.name: getattr(order, f.name) for f in fields(Order)}
        for name in ("order_id", "status", "history", "create_ms", "update_ms"):
            del values[name]
        raw = await self._run(
            "create_order",
            order.order_id,
            request_fingerprint,
            order.create_ms,
            *flat_pairs(encode_fields(values)),
        )
        if raw["outcome"] == "request_id_reused":
            raise RequestIdReused("request_id was already used with different parameters")
        created = raw["outcome"] == "created"
        if created:
            metrics.order_entered(order.kind, Status.PENDING)
        return created, _stored(order.order_id, raw)

    async def get(self, order_id: str) -> StoredOrder | None:
        if self._pipe is not None:
            flat = cast(list[bytes | str], await self._pipe.execute(b"HGETALL", _order_key(order_id)))
            raw = dict(zip(flat[0::2], flat[1::2], strict=True))
        else:
            raw = await self._redis.hgetall(_order_key(order_id))
        return _stored(order_id, texts(raw)) if raw else None

    async def update(
        self,
        order_id: str,
        now_ms: int,
        *,
        to: Status | None = None,
        set_: Mapping[str, object] | None = None,
        fill: Mapping[str, object] | None = None,
        receipt: bool = False,
    ) -> OrderChange | None:
        """Moves the order to `to` if the state machine allows it from the current status.

        `set_` is written only with the move; `fill` sets fields still unset either way; `receipt`
        freezes the order as the creating RPC's response. None for an unknown order.
        """
        froms = sorted(ENTERED_FROM[to]) if to else []
        sets = flat_pairs(encode_fields(set_ or {}))
        fills = flat_pairs(encode_fields(fill or {}))
        args = [to or "", now_ms, "1" if receipt else "0", len(froms), *froms, len(sets) // 2, *sets, *fills]
        raw = await self._run("update_order", order_id, *args)
        if raw["outcome"] == "unknown_order":
            return None
        stored = _stored(order_id, raw)
        moved = raw["outcome"] == "moved"
        if moved and to:
            metrics.order_entered(stored.order.kind, to)
        return OrderChange(moved, stored)

    async def claim_refund_step(
        self, order_id: str, total_minor: int, now_ms: int, *, nothing_to_take: bool
    ) -> RefundStep:
        """Records the step Stripe's cumulative refunded total names, once (refund_claim.lua)."""
        raw = await self._run("refund_claim", order_id, total_minor, now_ms, "1" if nothing_to_take else "0")
        return _refund_step(_counted(raw))

    async def decide_refund_step(self, order_id: str, total_minor: int, take_minor: int) -> RefundStep:
        return _refund_step(await self._run("refund_decide", order_id, total_minor, take_minor))

    async def apply_refund_step(self, order_id: str, total_minor: int, now_ms: int) -> RefundStep:
        return _refund_step(await self._run("refund_apply", order_id, total_minor, now_ms))

    async def refund_request(
        self, order_id: str, request_id: str, request: str, amount_minor: int
    ) -> RefundRequest | None:
        """The RefundOrder request as first recorded (recording it now if new); None for an unknown order."""
        raw = await self._run("refund_request", order_id, request_id, request, amount_minor)
        if raw["outcome"] == "unknown_order":
            return None
        return RefundRequest(raw["fingerprint"], int(raw["amount_minor"]), raw["stripe_refund_id"])

    async def seen_refund_request(self, order_id: str, request_id: str) -> bool:
        return bool(await self._redis.hexists(_order_key(order_id), f"refund_request:{request_id}"))

    async def record_refund_id(self, order_id: str, request_id: str, request: RefundRequest) -> None:
        value = f"{request.fingerprint}|{request.amount_minor}|{request.stripe_refund_id}"
        await acked_writes(self._redis, ("HSET", _order_key(order_id), f"refund_request:{request_id}", value))

    async def index(self, order: Order) -> None:
        """Lists the order for its account and, while open, for the sweeper; idempotent."""
        await self._writes(
            ("ZADD", _account_orders_key(order.account_id), order.create_ms, order.order_id),
            ("ZADD", _PENDING_ORDERS, order.create_ms, order.order_id),
        )

    async def renew_session_expiry(self, order_id: str, seen_s: int, proposed_s: int) -> int:
        """The expires_at for the order's next session: `proposed_s` if nobody renewed `seen_s` first."""
        raw = await self._run("renew_session_expiry", order_id, seen_s, proposed_s)
        return int(raw["session_expires_at_s"])

    async def bump_code_attempt(self, order_id: str) -> None:
        """After a released reservation, the next reservation is a new request to pricing_svc."""
        await acked_writes(self._redis, ("HINCRBY", _order_key(order_id), "code_attempt", 1))

    async def link(self, order_id: str, *, session_id: str = "", payment_intent_id: str = "") -> None:
        """Remembers which order a Stripe object was created for; events find orders only this way."""
        keys = [_session_order_key(session_id)] if session_id else []
        keys += [_intent_order_key(payment_intent_id)] if payment_intent_id else []
        await self._writes(*(("SET", key, order_id) for key in keys))

    async def _writes(self, *commands: Command) -> None:
        """Plain writes: on the pipe where there is one (its next write carries them all; there is none
        with replica acks), else through redis-py, confirmed by the replicas when acks are on."""
        if self._pipe is not None:
            await asyncio.gather(*(self._pipe.execute(*words) for words in commands))
        else:
            await acked_writes(self._redis, *commands)

    async def order_for_session(self, session_id: str) -> str | None:
        return await self._text(_session_order_key(session_id))

    async def order_for_payment_intent(self, payment_intent_id: str) -> str | None:
        return await self._text(_intent_order_key(payment_intent_id))

    async def _text(self, key: str) -> str | None:
        value = await self._redis.get(key)
        return None if value is None else text(value)

    async def record_dispute(
        self, order_id: str, dispute_id: str, amount_minor: int, status: str, now_ms: int
    ) -> DisputeState:
        raw = await self._run("dispute_record", order_id, dispute_id, amount_minor, status, now_ms)
        return _dispute_state(order_id, _counted(raw))

    async def decide_dispute(self, order_id: str, dispute_id: str, take_minor: int) -> DisputeState:
        return _dispute_state(order_id, await self._run("dispute_decide", order_id, dispute_id, take_minor))

    async def mark_dispute(
        self, order_id: str, dispute_id: str, effect: DisputeEffect, now_ms: int
    ) -> DisputeState:
        raw = await self._run("dispute_mark", order_id, dispute_id, effect.value, now_ms)
        return _dispute_state(order_id, raw)

    async def revert_refund(self, order_id: str, stripe_refunded_minor: int, now_ms: int) -> RefundRevert:
        raw = _counted(await self._run("refund_revert", order_id, stripe_refunded_minor, now_ms))
        return RefundRevert(
            RevertOutcome(raw["outcome"]), int(raw["generation"]), int(raw["give_back_minor"])
        )

    async def revert_done(self, order_id: str, generation: int, now_ms: int) -> None:
        await self._run("refund_revert_done", order_id, generation, now_ms)

    async def unlist_pending(self, order_id: str) -> None:
        """Not confirmed by the replicas: if a failover loses it, the sweeper sees a closed order again."""
        await self._redis.zrem(_PENDING_ORDERS, order_id)

    async def pending_before(self, before_ms: int, limit: int) -> list[str]:
        ids = await self._redis.zrangebyscore(_PENDING_ORDERS, "-inf", before_ms, start=0, num=limit)
        return [text(i) for i in ids if isinstance(i, (bytes, str))]  # members only: no scores were asked for

    async def page(self, account_id: str, after_order_id: str, size: int) -> list[Order] | None:
        """Up to `size` orders after `after_order_id`, newest first; None if that order is not listed."""
        raw = named(
            await self._scripts["page_orders"](
                keys=[_account_orders_key(account_id)], args=[after_order_id, size]
            )
        )
        if raw["outcome"] == "unknown_token":
            return None
        ids: list[str] = raw["order_ids"]
        async with self._redis.pipeline(transaction=False) as pipe:
            for order_id in ids:
                pipe.hgetall(_order_key(order_id))
            found = await pipe.execute()
        return [
            _stored(order_id, texts(fields)).order
            for order_id, fields in zip(ids, found, strict=True)
            if fields
        ]
