"""Epoch milliseconds (how the services store time) to and from protobuf Timestamps; 0 means unset."""

from __future__ import annotations

from google.protobuf.timestamp_pb2 import Timestamp

from svckit.errors import Violations

# The range google.protobuf.Timestamp allows: 0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999999999Z.
MIN_SECONDS = -62_135_596_800
MAX_SECONDS = 253_402_300_799


def timestamp_from_ms(ms: int) -> Timestamp | None:
    if not ms:
        return None
    ts = Timestamp()
    ts.FromMilliseconds(ms)
    return ts


def ms_from_timestamp(v: Violations, ts: Timestamp, field: str) -> int:
    """`ts` in epoch milliseconds, or 0 and a violation when it lies outside the Timestamp range."""
    if not (MIN_SECONDS <= ts.seconds <= MAX_SECONDS and 0 <= ts.nanos < 1_000_000_000):
        v.add(field, "must be a valid timestamp: years 1 to 9999, nanos 0 to 999999999")
        return 0
    return ts.ToMilliseconds()
