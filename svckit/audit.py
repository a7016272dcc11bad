"""One structured audit record per privileged call or policy refusal, on the `audit` logger (always INFO)."""

from __future__ import annotations

import logging

from google.protobuf import descriptor
from google.protobuf.message import Message

from svckit.identity import Caller

log = logging.getLogger("audit")
# Audit records are not diagnostics: LOG_LEVEL=WARNING must not drop them.
log.setLevel(logging.INFO)

MAX_VALUE_CHARS = 256
_SKIPPED = (descriptor.FieldDescriptor.TYPE_MESSAGE, descriptor.FieldDescriptor.TYPE_BYTES)


def record(
    method: str,
    caller: Caller,
    outcome: str,
    request: Message,
    *,
    error_reason: str = "",
    claimed_caller: str | None = None,
) -> None:
    """`outcome` is OK or the status code; the request's scalar fields say what was asked (ids, amounts).

    `claimed_caller` is the unverified `x-caller-id` a tool sent (e.g. which person used the CLI).
    """
    fields: dict[str, object] = {
        "method": method,
        "outcome": outcome,
        **caller.audit_fields(),
        "request": request_summary(request),
    }
    if error_reason:
        fields["error_reason"] = error_reason
    if claimed_caller:
        fields["claimed_caller"] = claimed_caller[:MAX_VALUE_CHARS]
    log.info("audit", extra=fields)


def request_summary(request: Message) -> dict[str, object]:
    """Set scalar fields only (enums by name, long text cut): never payloads, never nested messages."""
    out: dict[str, object] = {}
    if not isinstance(request, Message):  # a handler mounted without a proto gets raw bytes
        return out
    for field, value in request.ListFields():
        if field.type in _SKIPPED or not isinstance(value, str | int | float):  # repeated: a container
            continue
        if field.type == descriptor.FieldDescriptor.TYPE_ENUM and field.enum_type is not None:
            named = field.enum_type.values_by_number.get(int(value))
            value = named.name if named is not None else value
        elif isinstance(value, str):
            value = value[:MAX_VALUE_CHARS]
        out[field.name] = value
    return out
