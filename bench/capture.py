"""Watches Redis MONITOR while a few RPCs run: the exact EVALSHA a Debit sends, and commands per RPC."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import redis

_LINE = re.compile(r"^[\d.]+ \[\d+ (?P<source>[^\]]+)\] (?P<args>.*)$")
_ARG = re.compile(r'"((?:[^"\\]|\\.)*)"')
_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "a": "\a", "b": "\b", '"': '"', "\\": "\\"}
# Not part of any RPC: the services' health probes and connection setup.
_BACKGROUND = frozenset({"PING", "INFO", "HELLO", "CLIENT", "SELECT", "MONITOR", "SCRIPT"})


def _unescape(quoted: str) -> str:
    """Undoes Redis's sdscatrepr quoting; bytes come back as latin-1 code points."""
    return re.sub(
        r"\\(x[0-9a-fA-F]{2}|.)",
        lambda m: chr(int(m[1][1:], 16)) if m[1][0] == "x" and len(m[1]) == 3 else _ESCAPES.get(m[1], m[1]),
        quoted,
    )


@dataclass(frozen=True)
class Command:
    args: tuple[str, ...]
    from_script: bool
    client_port: int | None  # for a script's commands, the port of the client that ran the script

    @property
    def name(self) -> str:
        return self.args[0].upper()


def parse_monitor(lines: list[str]) -> list[Command]:
    """MONITOR shows a script's call first and then the commands it runs, which are credited to it."""
    commands, caller = [], None
    for line in lines:
        match = _LINE.match(line)
        args = tuple(_unescape(a) for a in _ARG.findall(match["args"])) if match else ()
        if not args:
            continue
        from_script = match["source"] == "lua"
        if not from_script:
            _, _, port = match["source"].rpartition(":")
            caller = int(port) if port.isdigit() else None
        commands.append(Command(args, from_script, caller))
    return commands


def monitor_while(redis_url: str, action: Callable[[], None], settle_s: float = 0.3) -> list[Command]:
    """Runs `action` with MONITOR on and returns every command Redis saw meanwhile, from any client."""
    conn = _connection(redis_url)
    try:
        conn.send_command("MONITOR")
        conn.read_response()
        action()
        lines = []
        while conn.can_read(timeout=settle_s):
            reply = conn.read_response()
            lines.append(reply.decode("latin-1") if isinstance(reply, bytes) else str(reply))
        return parse_monitor(lines)
    finally:
        conn.disconnect()


def _connection(redis_url: str) -> redis.Connection:
    pool = redis.ConnectionPool.from_url(redis_url)
    conn = pool.make_connection()
    conn.connect()
    return conn


def from_ports(commands: list[Command], ports: set[int]) -> list[Command]:
    """Only the commands one process sent (other services keep talking to the same Redis)."""
    return [c for c in commands if c.client_port in ports]


def per_call(commands: list[Command], calls: int) -> dict:
    """Top-level commands (each at most one round trip) and script-internal ones, per RPC."""
    top = Counter(c.name for c in commands if not c.from_script and c.name not in _BACKGROUND)
    inner = Counter(c.name for c in commands if c.from_script)
    return {
        "top_level_per_call": sum(top.values()) / calls,
        "top_level": {k: v / calls for k, v in sorted(top.items())},
        "in_script": {k: v / calls for k, v in sorted(inner.items())},
    }


def script_call(commands: list[Command]) -> Command | None:
    """The last top-level EVALSHA seen, i.e. the script an RPC ran."""
    calls = [c for c in commands if not c.from_script and c.name == "EVALSHA"]
    return calls[-1] if calls else None
