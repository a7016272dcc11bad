"""The order events stream (`order.paid`, `order.disputed`) other systems read to deliver products."""

from __future__ import annotations

from payment_svc.orders import Order
from svckit.redis_client import RedisClient
from svckit.replica_acks import acked_writes


class OrderEventStream:
    """Keys (owned here; nothing else writes them):
    - ORDER_EVENTS_STREAM (`payment:order_events`) stream, no hash tag, capped at about
      ORDER_EVENTS_MAXLEN entries: one entry per event, published at least once (consumers dedupe by
      order_id and type).
    """

    def __init__(self, redis: RedisClient, stream: str, maxlen: int) -> None:
        self._redis = redis
        self._stream = stream
        self._maxlen = maxlen

    async def publish(self, order: Order, event_type: str) -> None:
        """Returns once the replicas hold the entry when acks are on, so a failover cannot drop it."""
        fields: dict[str, str | int] = {
            "type": event_type,
            "order_id": order.order_id,
            "account_id": order.account_id,
            "product_id": order.product_id,
            "amount_minor": order.paid_minor or order.amount_minor,
            "currency": order.currency,
            "discount_code": order.discount_code,
            "stripe_payment_intent_id": order.stripe_payment_intent_id,
        }
        entry = [word for field_and_value in fields.items() for word in field_and_value]
        await acked_writes(self._redis, ("XADD", self._stream, "MAXLEN", "~", self._maxlen, "*", *entry))
