"""`priceledger codes`: discount codes."""

from __future__ import annotations

from typing import Annotated

import typer
from pricing.v1 import pricing_service_pb2 as pri

from priceledger_cli.options import Json, PageSize, PageToken, RequestId, timestamp
from priceledger_cli.output import emit_json, fields, money, next_page, table, when, window
from priceledger_cli.session import run

app = typer.Typer(help="Create, list, show and disable discount codes.", no_args_is_help=True)

Code = Annotated[str, typer.Argument(help="The code, any case: 3-32 characters of [A-Za-z0-9_-].")]
COLUMNS = ("code", "discount", "valid", "used / max", "per account", "products", "state")


@app.command(
    epilog="Example: priceledger codes create LAUNCH10 --percent-off 10 --max-redemptions 500",
)
def create(
    ctx: typer.Context,
    code: Code,
    percent_off: Annotated[int | None, typer.Option(help="1-100 percent off.")] = None,
    amount_off_minor: Annotated[int | None, typer.Option(help="A fixed amount off, in minor units.")] = None,
    currency: Annotated[str, typer.Option(help="ISO 4217 currency of --amount-off-minor.")] = "",
    starts: Annotated[
        str | None, typer.Option(help="ISO 8601 start (UTC without offset); default now.")
    ] = None,
    ends: Annotated[str | None, typer.Option(help="ISO 8601 expiry; default none.")] = None,
    max_redemptions: Annotated[int, typer.Option(min=0, help="Cap on all redemptions; 0 is none.")] = 0,
    max_per_account: Annotated[int, typer.Option(min=0, help="Cap per account; 0 is none.")] = 0,
    product: Annotated[
        list[str] | None, typer.Option(help="A product it applies to; repeat it; default all.")
    ] = None,
    min_price_minor: Annotated[int, typer.Option(min=0, help="Applies only from this price up.")] = 0,
    stacks_with_sale: Annotated[bool, typer.Option(help="Applies on top of a sale price.")] = False,
    request_id: RequestId = None,
    json_output: Json = False,
) -> None:
    """Create a discount code: a percent or a fixed amount off, with optional limits."""
    if (percent_off is None) == (amount_off_minor is None):
        raise typer.BadParameter("give exactly one of --percent-off and --amount-off-minor")
    discount = pri.DiscountCode(
        code=code,
        kind=pri.DISCOUNT_KIND_PERCENT if percent_off is not None else pri.DISCOUNT_KIND_FIXED,
        percent_off=percent_off,
        amount_off_minor=amount_off_minor,
        currency=currency.upper(),
        start_time=timestamp(starts, "--starts"),
        end_time=timestamp(ends, "--ends"),
        max_redemptions=max_redemptions,
        max_per_account=max_per_account,
        product_ids=product,
        min_price_minor=min_price_minor,
        stacks_with_sale=stacks_with_sale,
    )
    _show(run(ctx, lambda c: c.pricing.create_discount_code(discount, request_id=request_id)), json_output)


@app.command("list", epilog="Example: priceledger codes list --page-size 20")
def list_(
    ctx: typer.Context, page_size: PageSize = 0, page_token: PageToken = "", json_output: Json = False
) -> None:
    """List discount codes in code order, a page at a time."""
    page = run(ctx, lambda c: c.pricing.list_discount_codes(page_size=page_size, page_token=page_token))
    if json_output:
        emit_json(page)
        return
    table("discount codes", COLUMNS, map(_row, page.discount_codes))
    next_page(page.next_page_token)


@app.command(epilog="Example: priceledger codes show LAUNCH10")
def show(ctx: typer.Context, code: Code, json_output: Json = False) -> None:
    """Show a discount code with its redemption counts."""
    _show(run(ctx, lambda c: c.pricing.get_discount_code(code)), json_output)


@app.command(epilog="Example: priceledger codes disable LAUNCH10")
def disable(ctx: typer.Context, code: Code, request_id: RequestId = None, json_output: Json = False) -> None:
    """Stop a code from being quoted or reserved; redemptions already made stay."""
    _show(run(ctx, lambda c: c.pricing.disable_discount_code(code, request_id=request_id)), json_output)


def _show(code: pri.DiscountCode, json_output: bool) -> None:
    if json_output:
        emit_json(code)
        return
    fields(
        code.code,
        [
            *zip(COLUMNS[1:], _row(code)[1:], strict=True),
            ("minimum price (minor units)", code.min_price_minor),
            ("stacks with sale", "yes" if code.stacks_with_sale else "no"),
            ("reserved now", code.reserved_count),
            ("created", when(code.create_time)),
        ],
    )


def _row(c: pri.DiscountCode) -> tuple[str, ...]:
    if c.kind == pri.DISCOUNT_KIND_PERCENT:
        discount = f"{c.percent_off}%"
    else:
        discount = money(c.amount_off_minor, c.currency)
    return (
        c.code,
        discount,
        window(c.start_time, c.end_time) or "always",
        f"{c.redeemed_count + c.reserved_count} / {c.max_redemptions or '-'}",
        str(c.max_per_account or "-"),
        ", ".join(c.product_ids) or "all",
        "disabled" if c.disabled else "active",
    )
