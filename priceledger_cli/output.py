"""How results are shown: Rich tables for people, the proto JSON mapping for scripts."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

import typer
from google.protobuf import json_format
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp
from rich.console import Console
from rich.table import Table

from svckit.currencies import minor_exponent

_PIPED_WIDTH = 240


def emit_json(result: Message | dict[str, Message]) -> None:
    """The canonical proto JSON mapping, every field included; int64 amounts come as strings."""
    if isinstance(result, Message):
        data = _as_dict(result)
    else:
        data = {key: _as_dict(message) for key, message in result.items()}
    typer.echo(json.dumps(data, indent=2, sort_keys=True))


def _as_dict(message: Message) -> dict:
    return json_format.MessageToDict(
        message, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
    )


def table(title: str, columns: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
    grid = Table(title=title, title_justify="left")
    for column in columns:
        grid.add_column(column)
    for row in rows:
        grid.add_row(*(str(cell) for cell in row))
    _console().print(grid)


def _console() -> Console:
    """The terminal's width; piped output gets a wide one so each row stays on one line for grep."""
    console = Console()
    return console if console.is_terminal else Console(width=_PIPED_WIDTH)


def fields(title: str, pairs: Iterable[tuple[str, object]]) -> None:
    """One record as a two-column table."""
    table(title, ("field", "value"), pairs)


def next_page(token: str) -> None:
    if token:
        typer.echo(f"more: --page-token {token}")


def money(amount_minor: int, currency: str) -> str:
    """An amount in major units with its currency, e.g. `12.34 USD`; integer arithmetic only."""
    digits = minor_exponent(currency)
    if not digits:
        return f"{amount_minor} {currency}".strip()
    sign = "-" if amount_minor < 0 else ""
    whole, part = divmod(abs(amount_minor), 10**digits)
    return f"{sign}{whole}.{part:0{digits}d} {currency}"


def when(ts: Timestamp) -> str:
    """UTC to the second; empty when unset."""
    if not ts.seconds and not ts.nanos:
        return ""
    return datetime.fromtimestamp(ts.seconds, UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def window(start: Timestamp, end: Timestamp) -> str:
    """`from <start> until <end>`, leaving out an unset end of the window."""
    parts = (f"from {when(start)}" if when(start) else "", f"until {when(end)}" if when(end) else "")
    return " ".join(part for part in parts if part)


def name(enum_type, value: int) -> str:
    """An enum value without its prefix: PRICING_MODE_SALE -> SALE."""
    prefix = enum_type.DESCRIPTOR.values[0].name.removesuffix("UNSPECIFIED")
    return enum_type.Name(value).removeprefix(prefix)
