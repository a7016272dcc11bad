"""Discount codes in Redis: one Lua script per verb, every key under the one hash tag `{codes}`.

One tag puts every code and every order's reservation in one Cluster slot, which is what lets one
script keep both rules atomic: a code's caps (across orders) and one code per order (across codes).
Checkout traffic is far below what one Redis core serves; the price is that codes do not spread
over Cluster shards.

Keys (all under `pricing:{codes}`):
  pricing:{codes}                         zset    every code name, score 0, read in lexical order; no TTL
  pricing:{codes}:code:<CODE>             hash    def (JSON, never changes), disabled (0|1), redeemed
                                                  (confirmed count); no TTL
  pricing:{codes}:code:<CODE>:live        zset    live reservations "<account>:<expire_ms>:<order>" scored
                                                  by expire_ms; TTL `order_retention_ms` past its last
                                                  member's expiry; lapsed ones purged `PURGE_BATCH` per
                                                  reservation
  pricing:{codes}:code:<CODE>:held        zset    the same members at score 0, counted per account by
                                                  lexical range (codes with max_per_account only); same TTL
  pricing:{codes}:code:<CODE>:redeemed_by hash    account -> confirmed redemptions (codes with
                                                  max_per_account only); no TTL, it is the limit's memory
  pricing:{codes}:order:<order_id>        hash    the order's one reservation: code, account_id, product_id,
                                                  status, expire_ms; TTL `order_retention_ms` past its
                                                  expiry or last change
  pricing:{codes}:req:<request_id>        string  JSON {f: fingerprint, r: first reply}; TTL `request_ttl_ms`
"""

from __future__ import annotations

import hashlib
import json
from importlib import resources

from pricing_svc import metrics
from pricing_svc.codes import CodeState, DiscountCode, Reservation, ReservationStatus
from pricing_svc.script_reply import ScriptReply, decode
from svckit.errors import ServiceError
from svckit.redis_client import RedisClient, Script, observed, script_factory, tagged_key
from svckit.script_pipe import ScriptPipe

PURGE_BATCH = 100
_KNOWN_DEFINITIONS_MAX = 10_000
_VERBS = ("create", "disable", "read", "reserve", "confirm", "release")


def _key(*parts: str) -> str:
    return tagged_key("pricing", "codes", *parts)


INDEX_KEY = _key()


class CodeKeys:
    """The keys of one code; the only place their names are spelled."""

    def __init__(self, code: str) -> None:
        self.code = _key("code", code)
        self.live = _key("code", code, "live")
        self.held = _key("code", code, "held")
        self.redeemed_by = _key("code", code, "redeemed_by")


def order_key(order_id: str) -> str:
    return _key("order", order_id)


def request_key(request_id: str) -> str:
    return _key("req", request_id)


def _fingerprint(*params: object) -> str:
    return hashlib.sha256(json.dumps(params).encode()).hexdigest()


def _register(redis: RedisClient, pipe: ScriptPipe | None) -> dict[str, Script]:
    """Each verb's script with the shared `_records.lua` functions in front of it."""
    folder = resources.files("pricing_svc") / "lua" / "codes"
    shared = (folder / "_records.lua").read_text()
    register = script_factory(redis, pipe)
    counted = getattr(redis, "scripts_counted", True)  # off with metrics (METRICS_PORT=0), as elsewhere
    return {
        verb: observed(
            f"code_{verb}", register(shared + (folder / f"{verb}.lua").read_text()), counted=counted
        )
        for verb in _VERBS
    }


def _state(reply: object) -> CodeState:
    r: ScriptReply = decode(reply)
    return CodeState(
        definition=DiscountCode.from_json(r.raw("def")),
        disabled=r.text("disabled") == "1",
        reserved_count=r.number("reserved"),
        redeemed_count=r.number("redeemed"),
        held_by_account=r.number("held_by_account", default=0),
    )


def _reservation(code: str, reply: object) -> Reservation:
    r = decode(reply)
    return Reservation(
        code=code,
        order_id=r.text("order_id"),
        account_id=r.text("account_id"),
        status=ReservationStatus(r.text("status")),
        expire_ms=r.number("expire_ms"),
    )


class CodeStore:
    def __init__(
        self, redis: RedisClient, pipe: ScriptPipe | None, *, request_ttl_ms: int, order_retention_ms: int
    ) -> None:
        self._redis = redis
        self._scripts = _register(redis, pipe)
        self._request_ttl_ms = request_ttl_ms
        self._order_retention_ms = order_retention_ms
        # A definition never changes once written, so a process keeps the ones it has read.
        self._definitions: dict[str, DiscountCode] = {}

    async def create(self, definition: DiscountCode, *, request_id: str) -> CodeState:
        code = definition.code
        k = CodeKeys(code)
        fingerprint = _fingerprint("create", definition.terms_json())
        reply = await self._scripts["create"](
            keys=[k.code, k.live, INDEX_KEY, request_key(request_id)],
            args=[code, definition.to_json(), fingerprint, definition.create_ms, self._request_ttl_ms],
        )
        return _state(reply)

    async def disable(self, code: str, *, request_id: str, now_ms: int) -> CodeState:
        k = CodeKeys(code)
        reply = await self._scripts["disable"](
            keys=[k.code, k.live, request_key(request_id)],
            args=[_fingerprint("disable", code), now_ms, self._request_ttl_ms],
        )
        return _state(reply)

    async def get(self, code: str, *, now_ms: int, account_id: str = "") -> CodeState:
        """The code with its counts; with an account, also how many redemptions that account holds."""
        k = CodeKeys(code)
        reply = await self._scripts["read"](
            keys=[k.code, k.live, k.held, k.redeemed_by], args=[now_ms, account_id]
        )
        return _state(reply)

    async def definition(self, code: str) -> DiscountCode | None:
        """The code's terms: one read the first time this process needs them, none after."""
        known = self._definitions.get(code)
        if known is not None:
            return known
        raw = await self._redis.hget(CodeKeys(code).code, "def")
        if raw is None:
            return None
        if len(self._definitions) >= _KNOWN_DEFINITIONS_MAX:
            self._definitions.clear()
        self._definitions[code] = DiscountCode.from_json(raw)
        return self._definitions[code]

    async def list_names(self, *, after: str, count: int) -> list[str]:
        start = f"({after}" if after else "-"
        names = await self._redis.zrangebylex(INDEX_KEY, start, "+", start=0, num=count)
        return [name.decode() if isinstance(name, bytes) else name for name in names]

    async def reserve(
        self,
        code: str,
        *,
        order_id: str,
        account_id: str,
        product_id: str,
        ttl_ms: int,
        request_id: str,
        now_ms: int,
        terms_refusal: str,
    ) -> Reservation:
        """`terms_refusal` is why the code's terms rule it out ('' if they don't): the script refuses
        with it only after replays, the order's own reservation and the disabled flag."""
        k = CodeKeys(code)
        fingerprint = _fingerprint("reserve", code, order_id, account_id, product_id, ttl_ms)
        return await self._order_step(
            "reserve",
            code,
            [k.code, k.live, k.held, k.redeemed_by, order_key(order_id), request_key(request_id)],
            [
                code,
                order_id,
                account_id,
                product_id,
                ttl_ms,
                fingerprint,
                now_ms,
                self._request_ttl_ms,
                self._order_retention_ms,
                PURGE_BATCH,
                terms_refusal,
            ],
        )

    async def confirm(self, code: str, *, order_id: str, request_id: str, now_ms: int) -> Reservation:
        k = CodeKeys(code)
        return await self._order_step(
            "confirm",
            code,
            [k.code, k.live, k.held, k.redeemed_by, order_key(order_id), request_key(request_id)],
            self._order_step_args("confirm", code, order_id, now_ms),
        )

    async def release(self, code: str, *, order_id: str, request_id: str, now_ms: int) -> Reservation:
        k = CodeKeys(code)
        return await self._order_step(
            "release",
            code,
            [k.code, k.live, k.held, order_key(order_id), request_key(request_id)],
            self._order_step_args("release", code, order_id, now_ms),
        )

    async def _order_step(self, verb: str, code: str, keys: list[str], args: list[str | int]) -> Reservation:
        """Runs one reservation verb and counts its outcome (a replay counts again)."""
        try:
            reservation = _reservation(code, await self._scripts[verb](keys=keys, args=args))
        except ServiceError as err:
            metrics.code_step(verb, err.reason)
            raise
        metrics.code_step(verb, "OK")
        return reservation

    def _order_step_args(self, verb: str, code: str, order_id: str, now_ms: int) -> list[str | int]:
        fingerprint = _fingerprint(verb, code, order_id)
        return [code, order_id, fingerprint, now_ms, self._request_ttl_ms, self._order_retention_ms]
