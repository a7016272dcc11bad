"""`priceledger orders`: an account's orders, one order's story, refunds."""

from __future__ import annotations

from typing import Annotated

import typer
from payment.v1 import payment_service_pb2 as pay

from priceledger_cli.options import Json, PageSize, PageToken, RequestId
from priceledger_cli.output import emit_json, fields, money, name, next_page, table, when
from priceledger_cli.session import run

app = typer.Typer(help="List an account's orders, show one, refund one.", no_args_is_help=True)

OrderId = Annotated[str, typer.Argument(help="The order id.")]
COLUMNS = ("order", "created", "kind", "status", "amount", "refunded", "what")


@app.command("list", epilog="Example: priceledger orders list acct-42")
def list_(
    ctx: typer.Context,
    account_id: Annotated[str, typer.Argument(help="The buyer's account id.")],
    page_size: PageSize = 0,
    page_token: PageToken = "",
    json_output: Json = False,
) -> None:
    """List an account's orders, newest first, a page at a time."""
    page = run(ctx, lambda c: c.payment.list_orders(account_id, page_size=page_size, page_token=page_token))
    if json_output:
        emit_json(page)
        return
    table(f"orders of {account_id}", COLUMNS, map(_row, page.orders))
    next_page(page.next_page_token)


@app.command(epilog="Example: priceledger orders show 3f1c2d...")
def show(ctx: typer.Context, order_id: OrderId, json_output: Json = False) -> None:
    """Show an order with every status it went through."""
    _show(run(ctx, lambda c: c.payment.get_order(order_id)), json_output)


@app.command(
    epilog='Example: priceledger orders refund 3f1c2d... --amount-minor 500 --reason "late delivery"'
)
def refund(
    ctx: typer.Context,
    order_id: OrderId,
    amount_minor: Annotated[
        int, typer.Option(min=0, help="Minor units to refund; 0 refunds all not yet refunded.")
    ] = 0,
    reason: Annotated[str, typer.Option(help="Why; kept on the refund.")] = "",
    request_id: RequestId = None,
    json_output: Json = False,
) -> None:
    """Refund a paid order through Stripe, in full or in part (needs the admin token)."""
    response = run(
        ctx,
        lambda c: c.payment.refund_order(
            order_id, amount_minor=amount_minor, reason=reason, request_id=request_id
        ),
    )
    if json_output:
        emit_json(response)
        return
    _show(response.order, json_output)
    typer.echo(
        f"stripe refund {response.stripe_refund_id}; the order becomes REFUNDED when Stripe confirms it"
    )


def _show(o: pay.Order, json_output: bool) -> None:
    if json_output:
        emit_json(o)
        return
    pairs = [
        *zip(COLUMNS, _row(o), strict=True),
        ("account", o.account_id),
        ("discount code", o.discount_code),
        ("stripe payment intent", o.stripe_payment_intent_id),
        ("refund shortfall", money(o.refund_shortfall_minor, o.currency) if o.refund_shortfall_minor else ""),
        ("failure reason", o.failure_reason),
        *((f"history: {name(pay.OrderStatus, h.status)}", when(h.change_time)) for h in o.history),
    ]
    fields(o.order_id, pairs)


def _row(o: pay.Order) -> tuple[str, ...]:
    return (
        o.order_id,
        when(o.create_time),
        name(pay.OrderKind, o.kind),
        name(pay.OrderStatus, o.status),
        money(o.amount_minor, o.currency),
        money(o.refunded_minor, o.currency),
        o.product_id if o.kind == pay.ORDER_KIND_PRODUCT else f"{o.blocks} block(s)",
    )
