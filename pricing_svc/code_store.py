"""Discount codes in Redis: one Lua script call per operation, on keys that share the code's slot.

Keys of code SAVE10 (see lua/discount_code.lua for what each holds):
  pricing:{code:SAVE10}, ...:orders, ...:live, ...:accounts, ...:requests
  pricing:{codes}   zset of every code name (score 0, read in lexical order) for paged listing.
The index lives in another slot, so it is written after the create script: a crash in between
leaves a working code that is missing from lists until its create is retried.
"""

from __future__ import annotations

import hashlib
import json

from pricing_svc.catalogue import Product
from pricing_svc.codes import CodeState, DiscountCode, Reservation
from pricing_svc.errors import BY_REASON
from svckit.redis_client import RedisClient, Script, tagged_key

INDEX_KEY = tagged_key("pricing", "codes")


_PARTS = ((), ("orders",), ("live",), ("accounts",), ("requests",))


def _keys(code: str) -> list[str]:
    owner = f"code:{code}"
    return [
        tagged_key("pricing", owner, *part)
        for part in ((), ("orders",), ("live",), ("accounts",), ("requests",))
    ]


def _fingerprint(*params: object) -> str:
    return hashlib.sha256(json.dumps(params).encode()).hexdigest()


def _state(payload: dict) -> CodeState:
    return CodeState(
        definition=DiscountCode.from_json(payload["def"]),
        disabled=payload["disabled"],
        reserved_count=payload["reserved"],
        redeemed_count=payload["redeemed"],
    )


class CodeStore:
    def __init__(self, redis: RedisClient, script: Script) -> None:
        self._redis = redis
        self._script = script

    async def _run(self, op: str, code: str, now_ms: int, request_id: str, fingerprint: str, *args) -> dict:
        status, payload = await self._script(
            keys=_keys(code), args=[op, now_ms, request_id, fingerprint, *args]
        )
        if status != b"OK":
            raise BY_REASON[status.decode()](metadata={"code": code})
        return json.loads(payload)

    async def create(self, definition: DiscountCode, *, request_id: str) -> CodeState:
        code = definition.code
        fingerprint = _fingerprint("create", definition.terms_json())
        state = _state(
            await self._run(
                "create", code, definition.create_ms, request_id, fingerprint, definition.to_json()
            )
        )
        await self._redis.zadd(INDEX_KEY, {code: 0})
        return state

    async def disable(self, code: str, *, request_id: str, now_ms: int) -> CodeState:
        return _state(await self._run("disable", code, now_ms, request_id, _fingerprint("disable")))

    async def get(self, code: str, *, now_ms: int) -> CodeState:
        return _state(await self._run("read", code, now_ms, "", "", "", "", "", 0))

    async def check(
        self, code: str, *, account_id: str, product: Product, mode_price_minor: int, now_ms: int
    ) -> tuple[CodeState, str]:
        """The code and why it can't be used for this product and account now ("" if it can)."""
        payload = await self._run(
            "read", code, now_ms, "", "", account_id, product.product_id, product.currency, mode_price_minor
        )
        return _state(payload), payload["refusal"]

    async def list_names(self, *, after: str, count: int) -> list[str]:
        start = f"({after}" if after else "-"
        names = await self._redis.zrangebylex(INDEX_KEY, start, "+", start=0, num=count)
        return [name.decode() for name in names]

    async def reserve(
        self,
        code: str,
        *,
        order_id: str,
        account_id: str,
        product: Product,
        mode_price_minor: int,
        ttl_ms: int,
        request_id: str,
        now_ms: int,
    ) -> Reservation:
        args = (order_id, account_id, product.product_id, product.currency, mode_price_minor, ttl_ms)
        fingerprint = _fingerprint("reserve", args[:3], ttl_ms)
        payload = await self._run("reserve", code, now_ms, request_id, fingerprint, *args)
        return Reservation(code=code, **payload)

    async def confirm(self, code: str, *, order_id: str, request_id: str, now_ms: int) -> Reservation:
        payload = await self._run(
            "confirm", code, now_ms, request_id, _fingerprint("confirm", order_id), order_id
        )
        return Reservation(code=code, **payload)

    async def release(self, code: str, *, order_id: str, request_id: str, now_ms: int) -> Reservation:
        payload = await self._run(
            "release", code, now_ms, request_id, _fingerprint("release", order_id), order_id
        )
        return Reservation(code=code, **payload)
