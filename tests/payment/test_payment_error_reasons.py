"""Proto enums and their Python mirrors stay equal: ErrorReason (and the errors using it), WebhookOutcome."""

from payment.v1 import payment_service_pb2 as pb

from payment_svc import errors
from payment_svc.outcomes import Outcome
from svckit.errors import ServiceError


def test_proto_and_python_error_reasons_are_the_same():
    proto = {name.removeprefix("ERROR_REASON_") for name in pb.ErrorReason.keys()} - {"UNSPECIFIED"}
    assert proto == {reason.value for reason in errors.ErrorReason}


def test_every_payment_error_uses_a_listed_reason():
    classes = [c for c in vars(errors).values() if isinstance(c, type) and issubclass(c, ServiceError)]
    own = {c.reason for c in classes if c.__module__ == errors.__name__ and c is not errors.PeerRejected}
    assert own == set(errors.ErrorReason)


def test_webhook_outcomes_match_the_proto_enum():
    proto = {name.removeprefix("WEBHOOK_OUTCOME_") for name in pb.WebhookOutcome.keys()} - {"UNSPECIFIED"}
    assert proto == {outcome.name for outcome in Outcome}
