"""Local fake of Stripe's HTTP API for tests, e2e runs and benchmarks; see FakeStripe."""

from .server import FAILURE_KINDS, FakeStripe
from .signing import sign
from .state import RecordedRequest

__all__ = ["FAILURE_KINDS", "FakeStripe", "RecordedRequest", "sign"]
