"""payment_svc decodes the LowBalanceEvent entry balance_svc writes, with no balance_svc code of its own."""

from __future__ import annotations

import pytest
from balance.v1.low_balance_event_pb2 import LowBalanceEvent
from google.protobuf.json_format import ParseError

from balance_svc.events import publish
from balance_svc.model import LowBalanceCrossing
from payment_svc.low_balance_consumer import decode_event
from svckit.config import CommonSettings
from svckit.redis_client import connect

EXPECTED = LowBalanceEvent(
    account_id="acct_1", transaction_id="tx_7", currency="EUR", available_minor=0, threshold_minor=500
)


async def test_the_entry_balance_svc_publishes_decodes_to_the_same_event(single_redis):
    redis = connect(CommonSettings(**single_redis), decode_responses=True)  # as payment_svc reads
    try:
        await publish(redis, "s", LowBalanceCrossing("acct_1", "tx_7", "EUR", 0, 500), maxlen=1_000)
        [(_, fields)] = await redis.xrange("s")
    finally:
        await redis.aclose()
    assert decode_event(fields) == EXPECTED


def test_an_entry_from_before_the_message_still_decodes():
    legacy = {
        "account_id": "acct_1",
        "transaction_id": "tx_7",
        "currency": "EUR",
        "available_minor": "0",
        "threshold_minor": "500",
    }
    assert decode_event(legacy) == EXPECTED


def test_fields_added_to_the_message_later_are_ignored():
    text = '{"account_id": "acct_1", "transaction_id": "tx_7", "currency": "EUR", "threshold_minor": "500", '
    assert decode_event({"event": text + '"reason_added_later": 3}'}) == EXPECTED


@pytest.mark.parametrize(
    "fields",
    [
        {"event": "not json"},
        {"event": '{"account_id": "acct_1", "available_minor": "many"}'},
        {"event": '{"account_id": "acct_1"}'},  # names no transaction
        {},
    ],
)
def test_a_malformed_entry_is_refused(fields):
    with pytest.raises((ParseError, ValueError)):
        decode_event(fields)
