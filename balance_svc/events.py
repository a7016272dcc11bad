"""The low-balance stream: each crossing appended as one balance.v1.LowBalanceEvent in ProtoJSON."""

from __future__ import annotations

from balance.v1.low_balance_event_pb2 import LowBalanceEvent
from google.protobuf.json_format import MessageToJson

from balance_svc.model import LowBalanceCrossing
from svckit.logs import correlation_id_var
from svckit.redis_client import RedisClient
from svckit.replica_acks import acked_writes

# The entry's one field. It holds the message's ProtoJSON, not its binary form: payment_svc (like
# redis-cli) reads with decode_responses, which cannot read arbitrary bytes, and JSON stays legible in
# an incident. The message is the whole contract: a field added to it later needs no change here.
EVENT_FIELD = "event"


async def publish(redis: RedisClient, stream: str, crossing: LowBalanceCrossing, maxlen: int) -> None:
    event = LowBalanceEvent(
        account_id=crossing.account_id,
        transaction_id=crossing.transaction_id,
        currency=crossing.currency,
        available_minor=crossing.available_minor,
        threshold_minor=crossing.threshold_minor,
        correlation_id=correlation_id_var.get(),
    )
    text = MessageToJson(
        event, preserving_proto_field_name=True, indent=None, always_print_fields_with_no_presence=True
    )
    # Confirmed by replicas like the debit that crossed: a failover must not lose the signal that
    # triggers an auto top-up after the caller was told the debit went through.
    await acked_writes(redis, ("XADD", stream, "MAXLEN", "~", maxlen, "*", EVENT_FIELD, text))
