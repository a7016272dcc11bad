"""JSON log lines on stderr, one object per line, carrying the correlation id of the work they belong to."""

from __future__ import annotations

import json
import logging
import os
import sys
from contextvars import ContextVar

# The id that ties together every log line of one customer action, across services (not an idempotency
# key: every proto `request_id` is one of those).
CORRELATION_ID_HEADER = "x-correlation-id"
correlation_id_var: ContextVar[str] = ContextVar("correlation_id", default="")
# Longer ids from outside (a header, Stripe metadata) are replaced, so a caller cannot bloat every line.
MAX_CORRELATION_ID_CHARS = 64
_STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message"}


def new_correlation_id() -> str:
    """Only log lines carry the id, so it needs to be unique, not unguessable: 8 random bytes."""
    return os.urandom(8).hex()


def adopt_correlation_id(candidate: object) -> str:
    """Sets the current work's id to `candidate` if it is a usable one, else to a new id; returns it."""
    if (
        isinstance(candidate, str)
        and 0 < len(candidate) <= MAX_CORRELATION_ID_CHARS
        and candidate.isprintable()
    ):
        correlation_id = candidate
    else:
        correlation_id = new_correlation_id()
    correlation_id_var.set(correlation_id)
    return correlation_id


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": round(record.created, 3),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        entry.update((k, v) for k, v in record.__dict__.items() if k not in _STANDARD)
        entry.setdefault("correlation_id", correlation_id_var.get() or None)
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure(level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    logging.basicConfig(level=level.upper(), handlers=[handler], force=True)
