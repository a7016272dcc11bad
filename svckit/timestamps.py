"""Epoch milliseconds (how the services store time) to protobuf Timestamps; 0 means unset."""

from __future__ import annotations

from google.protobuf.timestamp_pb2 import Timestamp


def timestamp_from_ms(ms: int) -> Timestamp | None:
    if not ms:
        return None
    ts = Timestamp()
    ts.FromMilliseconds(ms)
    return ts
