"""The one reader of payment_svc's Lua replies: flat name/value lists, read by name, never by position."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def named(reply: object) -> dict[str, Any]:
    """`['outcome', 'moved', 'status', 'PAID', ...]` as a dict; strings as text (a ScriptPipe's replies are
    bytes), integers and lists as Redis sent them."""
    if not isinstance(reply, list) or len(reply) % 2:
        raise TypeError(f"a payment script returned {reply!r}, not a name/value list")
    names = [text(n) for n in reply[0::2]]
    return dict(zip(names, map(_as_text, reply[1::2]), strict=True))


def _as_text(value: object) -> object:
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, list):
        return [_as_text(v) for v in value]
    return value


def texts(raw: Mapping[bytes | str, bytes | str]) -> dict[str, str]:
    """A hash read with HGETALL as text, whether or not the connection decodes responses."""
    return {text(k): text(v) for k, v in raw.items()}


def text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def flat_pairs(values: Mapping[str, str]) -> list[str]:
    """The other direction: {'a': '1'} as ['a', '1'], for a script's field, value arguments."""
    return [item for pair in values.items() for item in pair]
