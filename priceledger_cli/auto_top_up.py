"""`priceledger auto-top-up`: an account's automatic top-up."""

from __future__ import annotations

from typing import Annotated

import typer
from payment.v1 import payment_service_pb2 as pay

from priceledger_cli.options import Json, RequestId
from priceledger_cli.output import emit_json, fields, when
from priceledger_cli.session import run

app = typer.Typer(help="Show and configure an account's automatic top-up.", no_args_is_help=True)

Account = Annotated[str, typer.Argument(help="The account id.")]


@app.command(epilog="Example: priceledger auto-top-up show acct-42")
def show(ctx: typer.Context, account_id: Account, json_output: Json = False) -> None:
    """Show an account's automatic top-up settings and state."""
    _show(run(ctx, lambda c: c.payment.get_auto_top_up(account_id)), json_output)


@app.command(
    epilog="Example: priceledger auto-top-up configure acct-42 --enable --threshold-minor 500 "
    "--blocks 2 --max-spend-minor 10000"
)
def configure(
    ctx: typer.Context,
    account_id: Account,
    enable: Annotated[
        bool, typer.Option("--enable/--disable", help="Turn it on (clears a self-disable) or off.")
    ],
    threshold_minor: Annotated[int, typer.Option(min=0, help="Top up when available falls below this.")] = 0,
    blocks: Annotated[int, typer.Option(min=0, help="Top-up blocks bought each time.")] = 0,
    max_spend_minor: Annotated[int, typer.Option(min=0, help="Most charged per period.")] = 0,
    period_seconds: Annotated[int, typer.Option(min=0, help="The rolling period; 0 is 30 days.")] = 0,
    request_id: RequestId = None,
    json_output: Json = False,
) -> None:
    """Set an account's automatic top-up; the service checks the figures when enabling."""
    settings = run(
        ctx,
        lambda c: c.payment.configure_auto_top_up(
            account_id,
            enabled=enable,
            threshold_minor=threshold_minor,
            blocks=blocks,
            max_spend_minor=max_spend_minor,
            period_seconds=period_seconds,
            request_id=request_id,
        ),
    )
    _show(settings, json_output)


def _show(a: pay.AutoTopUp, json_output: bool) -> None:
    if json_output:
        emit_json(a)
        return
    fields(
        a.account_id,
        [
            ("enabled", "yes" if a.enabled else "no"),
            ("threshold (minor units)", a.threshold_minor),
            ("blocks", a.blocks),
            ("max spend per period (minor units)", a.max_spend_minor),
            ("period (s)", a.period_seconds or "30 days"),
            ("spent this period (minor units)", a.spent_in_period_minor),
            ("consecutive failures", a.consecutive_failures),
            ("disabled because", a.disabled_reason),
            ("updated", when(a.update_time)),
        ],
    )
