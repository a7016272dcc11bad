"""Stripe events already handled, so a redelivery is answered without acting twice."""

from __future__ import annotations

from payment_svc.script_reply import text
from svckit.redis_client import RedisClient, tagged_key
from svckit.replica_acks import acked_writes


def _key(event_id: str) -> str:
    return tagged_key("pay:event", event_id)


class WebhookEventStore:
    """Keys (owned here; nothing else builds them):
    - `pay:event:{<event_id>}` string, TTL WEBHOOK_DEDUPE_TTL_S: the outcome of a handled event.
    """

    def __init__(self, redis: RedisClient, ttl_s: int) -> None:
        self._redis = redis
        self._ttl_s = ttl_s

    async def outcome(self, event_id: str) -> str | None:
        """The recorded outcome of the event, None if it was not handled (or long ago)."""
        value = await self._redis.get(_key(event_id))
        return None if value is None else text(value)

    async def record(self, event_id: str, outcome: str) -> None:
        """Confirmed by the replicas when acks are on: a lost record would let a redelivery act again."""
        await acked_writes(self._redis, ("SET", _key(event_id), outcome, "EX", self._ttl_s))
