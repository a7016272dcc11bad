"""Bad input is INVALID_ARGUMENT naming each bad field, and nothing is written."""

from __future__ import annotations

import grpc
import pytest
from balance.v1 import balance_service_pb2 as pb

from svckit.policy import load
from tests.balance.support import PURCHASE, TOP_UP, key_count, refused
from tests.conftest import ADMIN_METADATA

_OK = dict(account_id="acct_1", amount_minor=100, reason=TOP_UP, request_id="r-1")
_HOLD = dict(account_id="acct_1", amount_minor=100, timeout_ms=60_000, request_id="h-1")
_CAPTURE = dict(account_id="acct_1", hold_id="h-1", amount_minor=1, reason=PURCHASE, request_id="c-1")
_DEBIT = {**_OK, "reason": PURCHASE}
R = pb.TransactionReason

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
    ("Credit", pb.CreditRequest(**{**_OK, "reference": "order\x00-1"}), {"reference"}),
    ("Credit", pb.CreditRequest(**{**_OK, "reference": "line\nbreak"}), {"reference"}),
    ("Credit", pb.CreditRequest(**{**_OK, "currency": "ZZZ"}), {"currency"}),
    ("Credit", pb.CreditRequest(**{**_OK, "reason": R.TRANSACTION_REASON_PURCHASE}), {"reason"}),
    ("Credit", pb.CreditRequest(**{**_OK, "reason": R.TRANSACTION_REASON_USAGE}), {"reason"}),
    ("Debit", pb.DebitRequest(**{**_DEBIT, "amount_minor": 0}), {"amount_minor"}),
    ("Debit", pb.DebitRequest(**{**_DEBIT, "request_id": ""}), {"request_id"}),
    ("Debit", pb.DebitRequest(**{**_DEBIT, "reference": "tab\there"}), {"reference"}),
    ("Debit", pb.DebitRequest(**{**_DEBIT, "reason": R.TRANSACTION_REASON_TOP_UP}), {"reason"}),
    ("Debit", pb.DebitRequest(**{**_DEBIT, "reason": R.TRANSACTION_REASON_PROMOTIONAL}), {"reason"}),
    ("CreateHold", pb.CreateHoldRequest(**{**_HOLD, "reference": "\x1b[31m"}), {"reference"}),
    ("CreateHold", pb.CreateHoldRequest(**{**_HOLD, "timeout_ms": 999}), {"timeout_ms"}),
    ("CreateHold", pb.CreateHoldRequest(**{**_HOLD, "timeout_ms": 7 * 86_400_000 + 1}), {"timeout_ms"}),
    ("CreateHold", pb.CreateHoldRequest(**{**_HOLD, "amount_minor": 0}), {"amount_minor"}),
    ("CaptureHold", pb.CaptureHoldRequest(**{**_CAPTURE, "hold_id": ""}), {"hold_id"}),
    ("CaptureHold", pb.CaptureHoldRequest(**{**_CAPTURE, "amount_minor": 0}), {"amount_minor"}),
    ("CaptureHold", pb.CaptureHoldRequest(**{**_CAPTURE, "reason": 0}), {"reason"}),
    ("CaptureHold", pb.CaptureHoldRequest(**{**_CAPTURE, "reason": R.TRANSACTION_REASON_TOP_UP}), {"reason"}),
    ("CaptureHold", pb.CaptureHoldRequest(**{**_CAPTURE, "reason": R.TRANSACTION_REASON_REFUND}), {"reason"}),
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


# Each direction's reasons (issue 13); payment_svc credits TOP_UP and debits REFUND.
POLICY = load(["balance.v1.BalanceService"])
ALLOWED = {
    "Credit": {"TOP_UP", "REFUND", "ADJUSTMENT", "PROMOTIONAL"},
    "Debit": {"PURCHASE", "USAGE", "REFUND", "ADJUSTMENT"},
    "CaptureHold": {"PURCHASE", "USAGE"},
}


@pytest.mark.parametrize("method", sorted(ALLOWED))
async def test_each_direction_takes_exactly_its_own_reasons(single_balances, method):
    balances = single_balances
    account = "acct_reasons"
    await balances.credit(account, 10_000)
    accepted = set()
    for name in R.keys()[1:]:
        reason = R.Value(name)
        hold_id = f"{method}-{name}"
        if method == "CaptureHold":
            await balances.hold(account, 1, hold_id=hold_id)
            request = pb.CaptureHoldRequest(
                account_id=account, hold_id=hold_id, amount_minor=1, reason=reason, request_id=f"c-{hold_id}"
            )
        else:
            request = getattr(pb, f"{method}Request")(
                account_id=account, amount_minor=1, reason=reason, request_id=hold_id
            )
        try:
            # The plaintext dev caller holds every role but admin: add the token where the policy asks for it.
            rule = POLICY[f"/balance.v1.BalanceService/{method}"].rule_for(request)
            metadata = ADMIN_METADATA if "admin" in rule.roles else ()
            await getattr(balances.stub, method)(request, metadata=metadata)
        except grpc.aio.AioRpcError as error:
            assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, name
        else:
            accepted.add(name.removeprefix("TRANSACTION_REASON_"))
    assert accepted == ALLOWED[method]
