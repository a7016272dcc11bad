"""`priceledger data`: lost Redis data as a service saw it, and the operator's acknowledgement."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer
from ops.v1 import ops_service_pb2 as ops

from priceledger_cli.options import Json
from priceledger_cli.output import emit_json, fields, when
from priceledger_cli.session import run

app = typer.Typer(
    help="Lost Redis data: what a service detected, and accepting the data as it is now (README: "
    "Faults and lost data).",
    no_args_is_help=True,
)


class Service(StrEnum):
    PRICING = "pricing"
    BALANCE = "balance"
    PAYMENT = "payment"


ServiceArg = Annotated[Service, typer.Argument(help="The service to ask; each keeps its own guard.")]


@app.command(epilog="Example: priceledger data show balance")
def show(ctx: typer.Context, service: ServiceArg, json_output: Json = False) -> None:
    """Show whether the service's process detected lost Redis data, and its deployment epoch."""
    integrity = run(ctx, lambda c: c.ops(service).get_data_integrity())
    if json_output:
        emit_json(integrity)
        return
    _show_loss(f"{service} data integrity", integrity.data_loss if integrity.HasField("data_loss") else None)
    fields("", [("epoch", integrity.epoch)])


@app.command(
    epilog='Example: priceledger data acknowledge balance --note "INC-123: restored from the 02:00 AOF"'
)
def acknowledge(
    ctx: typer.Context,
    service: ServiceArg,
    note: Annotated[str, typer.Option(help="Why the data is accepted: an incident id, what was restored.")],
    json_output: Json = False,
) -> None:
    """Accept the data Redis holds now, after restoring and reconciling; mutations resume."""
    done = run(ctx, lambda c: c.ops(service).acknowledge_data_loss(note))
    if json_output:
        emit_json(done)
        return
    _show_loss(f"{service}: acknowledged", done.acknowledged)
    fields("", [("new epoch", done.epoch)])


def _show_loss(title: str, loss: ops.DataLoss | None) -> None:
    if loss is None:
        fields(title, [("data loss", "none detected")])
    else:
        fields(
            title,
            [("evidence", loss.evidence), ("detail", loss.detail), ("detected", when(loss.detect_time))],
        )
