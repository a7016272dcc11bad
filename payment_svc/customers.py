"""Each account's Stripe Customer and saved card, created once and remembered in Redis."""

from __future__ import annotations

from payment_svc.stripe_gateway import StripeGateway
from svckit.redis_client import RedisClient, tagged_key


def _key(account_id: str) -> str:
    return tagged_key("pay", account_id, "customer")


class Customers:
    def __init__(self, redis: RedisClient, stripe: StripeGateway | None) -> None:
        self._redis = redis
        self._stripe = stripe

    async def ensure(self, account_id: str) -> str:
        """The account's Customer; creating it is idempotent (Stripe key `customer-<account_id>`)."""
        customer_id = await self._redis.hget(_key(account_id), "customer_id")
        if customer_id:
            return customer_id
        assert self._stripe is not None
        customer_id = await self._stripe.create_customer(account_id)
        await self._redis.hsetnx(_key(account_id), "customer_id", customer_id)
        return customer_id

    async def saved(self, account_id: str) -> tuple[str | None, str | None]:
        """(customer id, default card) as far as we know them."""
        customer_id, card = await self._redis.hmget(_key(account_id), ["customer_id", "card"])
        return customer_id, card

    async def remember_card(self, account_id: str, payment_method_id: str) -> None:
        await self._redis.hset(_key(account_id), "card", payment_method_id)
