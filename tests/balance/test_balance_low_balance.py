"""The low-balance signal: one event per crossing below the threshold, on a stream payment_svc consumes."""

from __future__ import annotations

import pytest
import redis.asyncio as aioredis
from balance.v1 import balance_service_pb2 as pb
from balance.v1.low_balance_event_pb2 import LowBalanceEvent
from google.protobuf.json_format import Parse

from balance_svc.config import Settings as BalanceSettings
from payment_svc.config import Settings as PaymentSettings
from svckit.config import CommonSettings
from svckit.redis_client import connect
from tests.balance.support import unique

GROUP = "payment_svc"
STREAM = BalanceSettings().balance_low_balance_stream


def test_both_services_name_the_same_stream_by_default():
    assert STREAM == PaymentSettings().low_balance_stream == "balance:low_balance_events"


@pytest.fixture
async def client(balances) -> aioredis.Redis:
    """A client of balance_svc's Redis with payment_svc's consumer group on the stream."""
    client = connect(CommonSettings(**balances.redis))
    await client.xgroup_create(STREAM, GROUP, id="0", mkstream=True)
    yield client
    await client.aclose()


async def _consume(client) -> list[LowBalanceEvent]:
    """Reads and acknowledges what the group has not seen yet; each entry is one message's ProtoJSON."""
    reply = await client.xreadgroup(GROUP, "worker-1", {STREAM: ">"}, count=100)
    events = []
    for _, entries in reply:
        for entry_id, fields in entries:
            assert list(fields) == [b"event"]
            events.append(Parse(fields[b"event"], LowBalanceEvent()))
            await client.xack(STREAM, GROUP, entry_id)
    return events


async def _set_threshold(balances, account: str, threshold: int) -> pb.Balance:
    request = pb.SetLowBalanceThresholdRequest(
        account_id=account, threshold_minor=threshold, request_id=unique("thr")
    )
    return (await balances.stub.SetLowBalanceThreshold(request)).balance


async def test_low_balance_event_fires_once_per_crossing(balances, client):
    account = unique("acct")
    await balances.credit(account, 1000)
    assert (await _set_threshold(balances, account, 500)).low_balance_threshold_minor == 500
    await balances.debit(account, 400)
    assert await _consume(client) == []
    crossing = await balances.debit(account, 200)
    await balances.debit(account, 100)
    await balances.debit(account, 50)
    (event,) = await _consume(client)
    assert len(event.correlation_id) == 16  # the crossing Debit's, made up as its caller sent none
    event.ClearField("correlation_id")
    assert event == LowBalanceEvent(
        account_id=account,
        transaction_id=crossing.transaction.transaction_id,
        currency="USD",
        available_minor=400,
        threshold_minor=500,
    )
    await balances.credit(account, 50)  # still below: stays quiet
    await balances.debit(account, 10)
    assert await _consume(client) == []
    await balances.credit(account, 400)  # back at 690 >= 500: armed again
    await balances.hold(account, 200, hold_id="h1")
    captured = await balances.capture(account, "h1", 200)  # 690 -> 490
    assert [e.transaction_id for e in await _consume(client)] == [captured.transaction.transaction_id]


async def test_replayed_crossing_publishes_the_same_transaction_id(balances, client):
    account = unique("acct")
    await balances.credit(account, 100)
    await _set_threshold(balances, account, 50)
    first = await balances.debit(account, 60, request_id="cross")
    again = await balances.debit(account, 60, request_id="cross")
    assert again == first
    events = await _consume(client)
    assert {(e.account_id, e.transaction_id) for e in events} == {(account, first.transaction.transaction_id)}
    assert len(events) == 2


async def test_setting_a_threshold_above_available_signals_on_the_next_debit(balances, client):
    account = unique("acct")
    await balances.credit(account, 100)
    await _set_threshold(balances, account, 500)
    assert await _consume(client) == []
    reply = await balances.debit(account, 1)
    assert [e.transaction_id for e in await _consume(client)] == [reply.transaction.transaction_id]
    await _set_threshold(balances, account, 0)
    await balances.debit(account, 1)
    assert await _consume(client) == []


async def test_a_crossing_after_a_hold_lapses_still_signals(balances, client):
    account = unique("acct")
    await balances.credit(account, 1000)
    await _set_threshold(balances, account, 500)
    await balances.hold(account, 600, hold_id="lapses", timeout_ms=1_000)  # available 400
    first = await balances.debit(account, 100)  # 300: the first crossing
    assert [e.transaction_id for e in await _consume(client)] == [first.transaction.transaction_id]
    balances.clock.advance(1_000)  # the hold lapses: available 900 with no write to re-arm
    second = await balances.debit(account, 500)  # 900 -> 400: a new crossing
    assert [e.transaction_id for e in await _consume(client)] == [second.transaction.transaction_id]
