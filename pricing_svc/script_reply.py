"""Decodes what pricing_svc's Lua scripts return: a flat name/value list, or a named refusal."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from pricing_svc.errors import refusal


@dataclass(frozen=True)
class ScriptReply:
    """A script's reply by name; values stay as Redis sent them (bytes or int) until read as a type."""

    values: Mapping[str, bytes | int]

    def text(self, name: str) -> str:
        return _text(self.values[name])

    def number(self, name: str, default: int | None = None) -> int:
        if default is not None and name not in self.values:
            return default
        return int(self.values[name])

    def raw(self, name: str) -> bytes:
        value = self.values[name]
        return value if isinstance(value, bytes) else str(value).encode()


def decode(reply: object) -> ScriptReply:
    """`[name, value, ...]` by name; raises the named error for `['refusal', REASON, name, value...]`."""
    if not isinstance(reply, list) or len(reply) % 2:
        raise TypeError(f"a pricing script returned {reply!r}, not a name/value list")
    names = [_text(n) for n in reply[0::2]]
    decoded = ScriptReply(dict(zip(names, reply[1::2], strict=True)))
    if "refusal" in decoded.values:
        metadata = {name: decoded.text(name) for name in names if name != "refusal"}
        raise refusal(decoded.text("refusal"), metadata)
    return decoded


def _text(value: bytes | int) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
