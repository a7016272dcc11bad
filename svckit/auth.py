"""Reading request metadata."""

from __future__ import annotations

from collections.abc import Iterable

Metadata = Iterable[tuple[str, str | bytes]]


def header(metadata: Metadata, key: str) -> str | None:
    for k, value in metadata or ():
        if k == key:
            return value.decode() if isinstance(value, bytes) else value
    return None
