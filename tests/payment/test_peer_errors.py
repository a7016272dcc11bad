"""payment_svc's error mapper for its peer clients: a peer's moment of trouble stays retryable, its verdict
keeps its own code and reason."""

from __future__ import annotations

from payment_svc.errors import DependencyUnavailable, PeerRejected, from_peer
from priceledger_client import DeadlineExceeded, FailedPrecondition, InvalidArgument, Unavailable


def test_a_peer_failing_for_the_moment_is_dependency_unavailable():
    for failure in (Unavailable, DeadlineExceeded):
        mapped = from_peer(failure("down", method="BalanceService.Credit", request_id="r1"))
        assert isinstance(mapped, DependencyUnavailable)
        assert (mapped.code, mapped.reason) == ("UNAVAILABLE", "DEPENDENCY_UNAVAILABLE")


def test_a_peer_verdict_keeps_its_code_and_reason():
    exhausted = FailedPrecondition(
        "no uses left", reason="DISCOUNT_CODE_EXHAUSTED", method="PricingService.X"
    )
    mapped = from_peer(exhausted)
    assert isinstance(mapped, PeerRejected)
    assert (mapped.code, mapped.reason) == ("FAILED_PRECONDITION", "DISCOUNT_CODE_EXHAUSTED")
    bad = from_peer(InvalidArgument("bad currency", method="BalanceService.Credit"))
    assert (bad.code, bad.reason) == ("INVALID_ARGUMENT", "INVALID_ARGUMENT")  # no ErrorInfo: the code's name
    assert not isinstance(bad, type(mapped))  # one class per (code, reason): reasons never leak across
