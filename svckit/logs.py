"""JSON log lines on stderr, one object per line, carrying the correlation id of the work they belong to."""

from __future__ import annotations

import json
import logging
import sys
from contextvars import ContextVar

# The id that ties together every log line of one customer action, across services (not an idempotency
# key: every proto `request_id` is one of those).
CORRELATION_ID_HEADER = "x-correlation-id"
correlation_id_var: ContextVar[str] = ContextVar("correlation_id", default="")
_STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message"}


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
