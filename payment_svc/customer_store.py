"""Each account's Stripe Customer and default card in Redis."""

from __future__ import annotations

from payment_svc.script_reply import text
from svckit.redis_client import RedisClient, tagged_key
from svckit.replica_acks import acked_writes


def _key(account_id: str) -> str:
    return tagged_key("pay:customer", account_id)


def _text(value: bytes | str | None) -> str | None:
    return None if value is None else text(value)


class CustomerStore:
    """Keys (owned here; nothing else builds them):
    - `pay:customer:{<account_id>}` hash, no TTL: `customer_id` (set once) and `card` (the default
      PaymentMethod for off-session top-ups).
    Writes are confirmed by the replicas when replica acks are on.
    """

    def __init__(self, redis: RedisClient) -> None:
        self._redis = redis

    async def customer_id(self, account_id: str) -> str | None:
        return _text(await self._redis.hget(_key(account_id), "customer_id"))

    async def keep_first_customer_id(self, account_id: str, customer_id: str) -> None:
        """A concurrent creator may have stored one first; Stripe's idempotency key made it the same."""
        await acked_writes(self._redis, ("HSETNX", _key(account_id), "customer_id", customer_id))

    async def saved(self, account_id: str) -> tuple[str | None, str | None]:
        """(customer id, default card) as far as we know them."""
        customer_id, card = await self._redis.hmget(_key(account_id), ["customer_id", "card"])
        return _text(customer_id), _text(card)

    async def remember_card(self, account_id: str, payment_method_id: str) -> None:
        await acked_writes(self._redis, ("HSET", _key(account_id), "card", payment_method_id))
