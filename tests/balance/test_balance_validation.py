"""Bad input is INVALID_ARGUMENT naming each bad field, and nothing is written."""

from __future__ import annotations

import grpc
import pytest
from balance.v1 import balance_service_pb2 as pb

from tests.balance.support import TOP_UP, key_count, refused

_OK = dict(account_id="acct_1", amount_minor=100, reason=TOP_UP, request_id="r-1")
_HOLD = dict(account_id="acct_1", amount_minor=100, timeout_ms=60_000, request_id="h-1")
_CAPTURE = dict(account_id="acct_1", hold_id="h-1", amount_minor=1, reason=TOP_UP, request_id="c-1")

CASES = [
    ("Credit", pb.CreditRequest(**{**_OK, "amount_minor": 0}), {"amount_minor"}),
    ("Credit", pb.CreditRequest(**{**_OK, "amount_minor": -5}), {"amount_minor"}),
    ("Credit", pb.CreditRequest(**{**_OK, "amount_minor": 10**12 + 1}), {"amount_minor"}),
    ("Credit", pb.CreditRequest(**{**_OK, "account_id": ""}), {"account_id"}),
    ("Credit", pb.CreditRequest(**{**_OK, "account_id": "acct{1}"}), {"account_id"}),
    ("Credit", pb.CreditRequest(**{**_OK, "account_id": "a" * 65}), {"account_id"}),
    ("Credit", pb.CreditRequest(**{**_OK, "request_id": ""}), {"request_id"}),
    ("Credit", pb.CreditRequest(**{**_OK, "request_id": "has space"}), {"request_id"}),
    ("Credit", pb.CreditRequest(**{**_OK, "reason": 0}), {"reason"}),
    ("Credit", pb.CreditRequest(**{**_OK, "reason": 99}), {"reason"}),
    ("Credit", pb.CreditRequest(**{**_OK, "currency": "usd"}), {"currency"}),
    ("Credit", pb.CreditRequest(**{**_OK, "reference": "x" * 257}), {"reference"}),
    ("Credit", pb.CreditRequest(amount_minor=-1), {"account_id", "amount_minor", "reason", "request_id"}),
    ("Debit", pb.DebitRequest(**{**_OK, "amount_minor": 0}), {"amount_minor"}),
    ("Debit", pb.DebitRequest(**{**_OK, "request_id": ""}), {"request_id"}),
    ("CreateHold", pb.CreateHoldRequest(**{**_HOLD, "timeout_ms": 999}), {"timeout_ms"}),
    ("CreateHold", pb.CreateHoldRequest(**{**_HOLD, "timeout_ms": 7 * 86_400_000 + 1}), {"timeout_ms"}),
    ("CreateHold", pb.CreateHoldRequest(**{**_HOLD, "amount_minor": 0}), {"amount_minor"}),
    ("CaptureHold", pb.CaptureHoldRequest(**{**_CAPTURE, "hold_id": ""}), {"hold_id"}),
    ("CaptureHold", pb.CaptureHoldRequest(**{**_CAPTURE, "amount_minor": 0}), {"amount_minor"}),
    ("CaptureHold", pb.CaptureHoldRequest(**{**_CAPTURE, "reason": 0}), {"reason"}),
    ("ReleaseHold", pb.ReleaseHoldRequest(account_id="acct_1", hold_id="h-1"), {"request_id"}),
    ("GetHold", pb.GetHoldRequest(account_id="acct_1"), {"hold_id"}),
    ("GetBalance", pb.GetBalanceRequest(account_id="bad id"), {"account_id"}),
    ("VerifyAccount", pb.VerifyAccountRequest(account_id=""), {"account_id"}),
    (
        "SetLowBalanceThreshold",
        pb.SetLowBalanceThresholdRequest(account_id="acct_1", threshold_minor=-1, request_id="t-1"),
        {"threshold_minor"},
    ),
]


@pytest.mark.parametrize("method, request_message, fields", CASES)
async def test_bad_input_is_invalid_argument_and_writes_nothing(
    single_balances, method, request_message, fields
):
    refusal = await refused(getattr(single_balances.stub, method)(request_message))
    assert (refusal.code, refusal.reason) == (grpc.StatusCode.INVALID_ARGUMENT, "INVALID_ARGUMENT")
    assert set(refusal.violations) == fields
    assert key_count(single_balances.redis) == 0


async def test_largest_amount_is_accepted(balances):
    reply = await balances.credit("acct_max", 10**12)
    assert reply.balance.balance_minor == 10**12
