"""The low-balance stream: each crossing appended as one serialized balance.v1.LowBalanceEvent."""

from __future__ import annotations

from balance.v1.low_balance_event_pb2 import LowBalanceEvent

from balance_svc.model import LowBalanceCrossing
from svckit.redis_client import RedisClient

# The entry's one field. The bytes are the whole contract, so adding a field to the message later needs no
# change here or in any consumer.
EVENT_FIELD = "event"


async def publish(redis: RedisClient, stream: str, crossing: LowBalanceCrossing, maxlen: int) -> None:
    event = LowBalanceEvent(
        account_id=crossing.account_id,
        transaction_id=crossing.transaction_id,
        currency=crossing.currency,
        available_minor=crossing.available_minor,
        threshold_minor=crossing.threshold_minor,
    )
    await redis.xadd(stream, {EVENT_FIELD: event.SerializeToString()}, maxlen=maxlen, approximate=True)
