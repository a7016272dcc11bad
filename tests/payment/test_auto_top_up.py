"""Auto top-up: settings, one charge per burst of low-balance events, the spend cap and self-disable."""

from __future__ import annotations

import grpc
import pytest
from balance.v1 import balance_service_pb2 as bal
from payment.v1 import payment_service_pb2 as pb

from tests.payment.support import eventually, refused, unique

INVALID = grpc.StatusCode.INVALID_ARGUMENT


async def _configure(stack, account: str, request_id: str | None = None, **fields) -> pb.AutoTopUp:
    values = {"enabled": True, "threshold_minor": 500, "blocks": 2, "max_spend_minor": 10_000, **fields}
    request = pb.ConfigureAutoTopUpRequest(
        account_id=account, request_id=request_id or unique("cfg"), **values
    )
    return (await stack.payment.ConfigureAutoTopUp(request)).auto_top_up


async def _settings(stack, account: str) -> pb.AutoTopUp:
    return (await stack.payment.GetAutoTopUp(pb.GetAutoTopUpRequest(account_id=account))).auto_top_up


async def _threshold(stack, account: str) -> int:
    response = await stack.balance.GetBalance(bal.GetBalanceRequest(account_id=account))
    return response.balance.low_balance_threshold_minor


async def test_unconfigured_account_reads_disabled(stack):
    settings = await _settings(stack, "acct-never")
    assert settings == pb.AutoTopUp(account_id="acct-never")


async def test_configure_is_read_back_and_sets_the_balance_threshold(stack):
    account = unique("acct")
    stored = await _configure(stack, account, request_id="cfg-1", period_seconds=7200)
    assert (stored.enabled, stored.threshold_minor, stored.blocks, stored.max_spend_minor) == (
        True,
        500,
        2,
        10_000,
    )
    assert stored.period_seconds == 7200 and stored.update_time.seconds > 0
    assert await _settings(stack, account) == stored
    assert await _threshold(stack, account) == 500
    replay = await _configure(stack, account, request_id="cfg-1", period_seconds=7200)
    assert replay.SerializeToString() == stored.SerializeToString()
    await refused(
        _configure(stack, account, request_id="cfg-1", threshold_minor=1),
        grpc.StatusCode.FAILED_PRECONDITION,
        "REQUEST_ID_REUSED",
    )
    off = await _configure(stack, account, enabled=False)
    assert not off.enabled
    assert await _threshold(stack, account) == 0


@pytest.mark.parametrize(
    "fields",
    [
        {"threshold_minor": 0},
        {"blocks": 0},
        {"blocks": 51},
        {"max_spend_minor": 1999},  # less than one top-up of 2 blocks
        {"period_seconds": 60},
        {"period_seconds": 91 * 86400},
    ],
)
async def test_bad_auto_top_up_settings_are_invalid(stack, fields):
    await refused(_configure(stack, unique("acct"), **fields), INVALID, "INVALID_ARGUMENT")


async def test_burst_of_low_balance_events_tops_up_once(stack):
    account = unique("acct")
    await stack.paid_top_up(account)  # 1000 in the balance and a saved card
    await _configure(stack, account)
    await stack.spend(account, 600)  # 400 < 500: balance_svc publishes the crossing
    for _ in range(4):
        await stack.low_balance_event(account, 400, 500)
    await eventually(stack.low_balance_events_handled)
    assert await stack.balance_of(account) == 400 + 2000
    assert len(stack.fake.calls("POST", "/v1/payment_intents")) == 1
    settings = await _settings(stack, account)
    assert (settings.spent_in_period_minor, settings.consecutive_failures) == (2000, 0)


async def test_auto_top_up_never_exceeds_the_spend_cap(stack):
    account = unique("acct")
    await stack.paid_top_up(account)
    await _configure(stack, account, max_spend_minor=2000, period_seconds=3600)
    await stack.spend(account, 600)
    await eventually(stack.low_balance_events_handled)
    assert await stack.balance_of(account) == 2400
    await stack.spend(account, 2000)  # 400 again: a second crossing, but the cap is spent
    await eventually(stack.low_balance_events_handled)
    assert await stack.balance_of(account) == 400
    assert len(stack.fake.calls("POST", "/v1/payment_intents")) == 1
    assert (await _settings(stack, account)).spent_in_period_minor == 2000
    stack.clock.advance(3601 * 1000)  # the period rolls on
    await stack.low_balance_event(account, 400, 500)
    await eventually(stack.low_balance_events_handled)
    assert await stack.balance_of(account) == 2400
    assert len(stack.fake.calls("POST", "/v1/payment_intents")) == 2


async def test_repeated_failures_disable_auto_top_up_with_the_reason(stack):
    account = unique("acct")
    await stack.paid_top_up(account)
    await _configure(stack, account)
    await stack.spend(account, 600)
    stack.fake.fail_next("/v1/payment_intents", "card_declined", times=3)
    await eventually(stack.low_balance_events_handled)
    for _ in range(2):
        await stack.low_balance_event(account, 400, 500)
        await eventually(stack.low_balance_events_handled)
    settings = await _settings(stack, account)
    assert (settings.enabled, settings.consecutive_failures, settings.disabled_reason) == (
        False,
        3,
        "CARD_DECLINED",
    )
    assert settings.spent_in_period_minor == 0
    await stack.low_balance_event(account, 400, 500)  # disabled: nothing is tried
    await eventually(stack.low_balance_events_handled)
    assert len(stack.fake.calls("POST", "/v1/payment_intents")) == 3
    assert await stack.balance_of(account) == 400
    enabled = await _configure(stack, account)
    assert (enabled.enabled, enabled.consecutive_failures, enabled.disabled_reason) == (True, 0, "")
