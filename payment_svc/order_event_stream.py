"""The order events stream (`order.paid`, `order.disputed`) other systems read to deliver products."""

from __future__ import annotations

from redis.typing import EncodableT, FieldT

from payment_svc.orders import Order
from svckit.redis_client import RedisClient


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
        fields: dict[FieldT, EncodableT] = {
            "type": event_type,
            "order_id": order.order_id,
            "account_id": order.account_id,
            "product_id": order.product_id,
            "amount_minor": order.paid_minor or order.amount_minor,
            "currency": order.currency,
            "discount_code": order.discount_code,
            "stripe_payment_intent_id": order.stripe_payment_intent_id,
        }
        await self._redis.xadd(self._stream, fields, maxlen=self._maxlen, approximate=True)
