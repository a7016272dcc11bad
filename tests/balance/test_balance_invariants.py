"""Random sequences of credits, debits and holds, some repeated, against a model of the ledger."""

from __future__ import annotations

from dataclasses import dataclass, field

import grpc
from balance.v1 import balance_service_pb2 as pb
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from svckit.status import error_info
from tests.balance.support import PURCHASE, TOP_UP, USAGE, unique

amounts = st.integers(1, 400)
half_seconds = st.integers(1, 10).map(lambda n: n * 500)  # whole steps, so expiries are often hit exactly
steps = st.one_of(
    st.tuples(st.just("credit"), amounts),
    st.tuples(st.just("debit"), amounts),
    st.tuples(st.just("hold"), amounts, half_seconds.filter(lambda ms: ms >= 1_000)),
    st.tuples(st.just("capture"), st.integers(0, 7), amounts),
    st.tuples(st.just("release"), st.integers(0, 7)),
    st.tuples(st.just("advance"), half_seconds),
    st.tuples(st.just("repeat"), st.integers(0, 40)),
)


@dataclass
class ModelHold:
    amount: int
    expire_ms: int
    status: str = "pending"


@dataclass
class Model:
    """What the ledger should say: the expected balance and holds, and every request sent so far."""

    account: str
    balance: int = 0
    holds: dict[str, ModelHold] = field(default_factory=dict)
    sent: list[tuple[str, object, bytes | None]] = field(default_factory=list)  # method, request, reply

    def live_held(self, now_ms: int) -> int:
        return sum(h.amount for h in self.holds.values() if h.status == "pending" and h.expire_ms > now_ms)

    def expect(self, method: str, request, now_ms: int) -> str:
        """Applies a fresh request to the model; returns the refusal reason, or '' when it succeeds."""
        available = self.balance - self.live_held(now_ms)
        if method in ("Debit", "CreateHold") and request.amount_minor > available:
            return "INSUFFICIENT_FUNDS"
        if method in ("CaptureHold", "ReleaseHold"):
            hold = self.holds.get(request.hold_id)
            if hold is None:
                return "HOLD_NOT_FOUND"
            if hold.status != "pending":
                return f"HOLD_ALREADY_{hold.status.upper()}"
            if hold.expire_ms <= now_ms:
                return "HOLD_EXPIRED"
            if method == "CaptureHold" and request.amount_minor > hold.amount:
                return "CAPTURE_EXCEEDS_HOLD"
            hold.status = "captured" if method == "CaptureHold" else "released"
        if method == "Credit":
            self.balance += request.amount_minor
        elif method in ("Debit", "CaptureHold"):
            self.balance -= request.amount_minor
        elif method == "CreateHold":
            self.holds[request.request_id] = ModelHold(request.amount_minor, now_ms + request.timeout_ms)
        return ""


def _request(model: Model, step: tuple) -> tuple[str, object]:
    kind, *args = step
    account, hold_ids = model.account, [*model.holds, "no-such-hold"]
    if kind == "credit":
        return "Credit", pb.CreditRequest(
            account_id=account, amount_minor=args[0], reason=TOP_UP, request_id=unique("c")
        )
    if kind == "debit":
        return "Debit", pb.DebitRequest(
            account_id=account, amount_minor=args[0], reason=USAGE, request_id=unique("d")
        )
    if kind == "hold":
        return "CreateHold", pb.CreateHoldRequest(
            account_id=account, amount_minor=args[0], timeout_ms=args[1], request_id=unique("h")
        )
    if kind == "capture":
        return "CaptureHold", pb.CaptureHoldRequest(
            account_id=account,
            hold_id=hold_ids[args[0] % len(hold_ids)],
            amount_minor=args[1],
            reason=PURCHASE,
            request_id=unique("cap"),
        )
    return "ReleaseHold", pb.ReleaseHoldRequest(
        account_id=account, hold_id=hold_ids[args[0] % len(hold_ids)], request_id=unique("rel")
    )


async def _send(balances, method: str, request) -> tuple[bytes | None, str]:
    try:
        return (await getattr(balances.stub, method)(request)).SerializeToString(), ""
    except grpc.aio.AioRpcError as error:
        return None, error_info(error).reason


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(plan=st.lists(steps, min_size=5, max_size=25))
async def test_random_sequences_keep_the_ledger_invariants(balances, plan):
    model = Model(unique("acct"))
    for step in plan:
        now_ms = balances.clock.now_ms()
        if step[0] == "advance":
            balances.clock.advance(step[1])
            continue
        if step[0] == "repeat" and model.sent:
            index = step[1] % len(model.sent)
            method, request, first_reply = model.sent[index]
            reply, reason = await _send(balances, method, request)
            if first_reply is not None:  # a success is replayed byte for byte and changes nothing
                assert (reply, reason) == (first_reply, "")
                continue
            expected = model.expect(method, request, now_ms)  # a refusal was not remembered: a fresh try
            model.sent[index] = (method, request, reply)
        elif step[0] == "repeat":
            continue
        else:
            method, request = _request(model, step)
            expected = model.expect(method, request, now_ms)
            reply, reason = await _send(balances, method, request)
            model.sent.append((method, request, reply))
        assert reason == expected, (method, request)
        await _check_invariants(balances, model)


async def _check_invariants(balances, model: Model) -> None:
    now_ms = balances.clock.now_ms()
    balance = await balances.balance(model.account)
    assert balance.balance_minor == model.balance >= 0
    assert balance.held_minor == model.live_held(now_ms)
    assert balance.available_minor == balance.balance_minor - balance.held_minor >= 0
    report = await balances.verify(model.account)
    assert report.consistent, report.mismatches
