"""`priceledger balances`: account balances, their log, audits and manual adjustments."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer
from balance.v1 import balance_service_pb2 as bal

from priceledger_cli.options import Json, PageSize, PageToken, RequestId
from priceledger_cli.output import emit_json, fields, money, name, next_page, table, when
from priceledger_cli.session import Clients, run

app = typer.Typer(help="Show balances and their history; verify and adjust them.", no_args_is_help=True)

Account = Annotated[str, typer.Argument(help="The account id.")]


class Direction(StrEnum):
    credit = "credit"
    debit = "debit"


@app.command(epilog="Example: priceledger balances show acct-42")
def show(ctx: typer.Context, account_id: Account, json_output: Json = False) -> None:
    """Show an account's balance, held and available amounts."""
    _show(run(ctx, lambda c: c.balance.get_balance(account_id)), json_output)


@app.command(epilog="Example: priceledger balances history acct-42 --page-size 20")
def history(
    ctx: typer.Context,
    account_id: Account,
    page_size: PageSize = 0,
    page_token: PageToken = "",
    json_output: Json = False,
) -> None:
    """List an account's transactions, newest first, a page at a time."""
    page = run(
        ctx, lambda c: c.balance.list_transactions(account_id, page_size=page_size, page_token=page_token)
    )
    if json_output:
        emit_json(page)
        return
    rows = (
        (
            when(t.create_time),
            name(bal.TransactionType, t.type),
            name(bal.TransactionReason, t.reason),
            money(t.amount_minor, t.currency),
            money(t.balance_after_minor, t.currency),
            t.reference,
            t.request_id,
        )
        for t in page.transactions
    )
    columns = ("time", "type", "reason", "amount", "balance after", "reference", "request id")
    table(f"transactions of {account_id}", columns, rows)
    next_page(page.next_page_token)


@app.command(epilog="Example: priceledger balances verify acct-42")
def verify(ctx: typer.Context, account_id: Account, json_output: Json = False) -> None:
    """Recompute an account from its log and holds; exits 1 if a stored figure disagrees."""
    report = run(ctx, lambda c: c.balance.verify_account(account_id))
    if json_output:
        emit_json(report)
    else:
        fields(
            f"{account_id}: {'consistent' if report.consistent else 'INCONSISTENT'}",
            [
                ("balance (stored / from log)", f"{report.balance_minor} / {report.computed_balance_minor}"),
                ("held (stored / from holds)", f"{report.held_minor} / {report.computed_held_minor}"),
                ("transactions read", report.transaction_count),
                *(("mismatch", m) for m in report.mismatches),
            ],
        )
    if not report.consistent:
        raise typer.Exit(1)


@app.command(epilog='Example: priceledger balances adjust acct-42 credit 500 --note "goodwill, ticket 1234"')
def adjust(
    ctx: typer.Context,
    account_id: Account,
    direction: Annotated[Direction, typer.Argument(help="credit adds, debit takes away.")],
    amount_minor: Annotated[int, typer.Argument(min=1, help="The amount in minor units (cents).")],
    note: Annotated[str, typer.Option(help="Why; kept as the transaction's reference (required).")],
    currency: Annotated[str, typer.Option(help="ISO 4217; default the account's currency.")] = "",
    request_id: RequestId = None,
    json_output: Json = False,
) -> None:
    """Correct a balance by hand: an ADJUSTMENT credit or debit (needs the admin token)."""

    def move(c: Clients):
        mutate = c.balance.credit if direction is Direction.credit else c.balance.debit
        return mutate(
            account_id,
            amount_minor,
            reason=bal.TRANSACTION_REASON_ADJUSTMENT,
            currency=currency.upper(),
            reference=note,
            request_id=request_id,
        )

    response = run(ctx, move)
    if json_output:
        emit_json(response)
        return
    _show(response.balance, json_output)
    typer.echo(
        f"transaction {response.transaction.transaction_id} (request_id {response.transaction.request_id})"
    )


def _show(b: bal.Balance, json_output: bool) -> None:
    if json_output:
        emit_json(b)
        return
    fields(
        b.account_id,
        [
            ("balance", money(b.balance_minor, b.currency)),
            ("held", money(b.held_minor, b.currency)),
            ("available", money(b.available_minor, b.currency)),
            ("low-balance threshold", money(b.low_balance_threshold_minor, b.currency)),
        ],
    )
