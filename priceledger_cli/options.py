"""Options that several commands share."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer
from google.protobuf.timestamp_pb2 import Timestamp

Json = Annotated[
    bool, typer.Option("--json", help="Print the result as JSON (proto field names) for scripts.")
]
RequestId = Annotated[
    str | None,
    typer.Option(
        help="Idempotency key; default a new one. After a timeout or UNAVAILABLE, re-run with the "
        "request_id the error printed: the change is applied at most once."
    ),
]
PageSize = Annotated[int, typer.Option(min=0, help="Entries per page; 0 is the service's default.")]
PageToken = Annotated[str, typer.Option(help="Token printed after the previous page.")]


def timestamp(value: str | None, option: str) -> Timestamp | None:
    """An ISO 8601 instant from the command line; UTC when it has no offset."""
    if value is None:
        return None
    try:
        instant = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not an ISO 8601 date and time", param_hint=option) from None
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=UTC)
    ts = Timestamp()
    ts.FromDatetime(instant)
    return ts
