"""`priceledger prices`: the catalogue, each product's pricing mode and its sale."""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from typing import Annotated

import typer
from pricing.v1 import pricing_service_pb2 as pri

from priceledger_cli.options import Json, timestamp
from priceledger_cli.output import emit_json, fields, money, name, table, when, window
from priceledger_cli.session import Clients, run
from priceledger_client import NotFound

app = typer.Typer(
    help="Show the catalogue; set a product's pricing mode; start and stop a sale.", no_args_is_help=True
)

ProductId = Annotated[str, typer.Argument(help="The product, e.g. pro-plan.")]
COLUMNS = ("product", "name", "list", "launch", "mode", "sale")


class Mode(StrEnum):
    launch = "launch"
    rrp = "rrp"


@app.command(epilog="Example: priceledger prices show pro-plan")
def show(
    ctx: typer.Context,
    product_id: Annotated[str | None, typer.Argument(help="One product, with its price now.")] = None,
    json_output: Json = False,
) -> None:
    """Show the catalogue, or one product and what it costs now."""
    if product_id is None:
        config = run(ctx, lambda c: c.pricing.get_pricing_config())
        if json_output:
            emit_json(config)
            return
        title = f"catalogue version {config.version}"
        if config.updated_by:
            title += f", by {config.updated_by} at {when(config.update_time)}"
        table(title, COLUMNS, map(_row, config.products))
        return

    async def product_and_quote(c: Clients) -> tuple[pri.Product, pri.Quote]:
        product = _find(await c.pricing.get_pricing_config(), product_id)
        return product, await c.pricing.get_quote(product_id)

    product, quote = run(ctx, product_and_quote)
    if json_output:
        emit_json({"product": product, "quote": quote})
        return
    table(product_id, COLUMNS, [_row(product)])
    fields(
        "price now",
        [
            ("mode", name(pri.PricingMode, quote.mode)),
            ("price", money(quote.mode_price_minor, quote.currency)),
            ("config version", quote.config_version),
            ("quoted at", when(quote.quote_time)),
        ],
    )


@app.command("set-mode", epilog="Example: priceledger prices set-mode pro-plan rrp")
def set_mode(
    ctx: typer.Context,
    product_id: ProductId,
    mode: Annotated[Mode, typer.Argument(help="The price outside any sale: launch or rrp (list price).")],
    json_output: Json = False,
) -> None:
    """Set the mode a product is priced in outside its sale."""
    value = pri.PRICING_MODE_LAUNCH if mode is Mode.launch else pri.PRICING_MODE_RRP

    def change(product: pri.Product) -> bool:
        changed = product.base_mode != value
        product.base_mode = value
        return changed

    _show_product(run(ctx, lambda c: _change(c, product_id, change)), json_output)


@app.command(
    "start-sale",
    epilog="Example: priceledger prices start-sale pro-plan --percent-off 20 --ends 2026-12-31T23:59:59Z",
)
def start_sale(
    ctx: typer.Context,
    product_id: ProductId,
    price_minor: Annotated[int | None, typer.Option(help="Sale price in minor units (cents).")] = None,
    percent_off: Annotated[int | None, typer.Option(help="Sale price as percent off the list price.")] = None,
    starts: Annotated[
        str | None, typer.Option(help="ISO 8601 start (UTC without offset); default now.")
    ] = None,
    ends: Annotated[str | None, typer.Option(help="ISO 8601 end, exclusive; default no end.")] = None,
    json_output: Json = False,
) -> None:
    """Put a product on sale, replacing any sale it has; the service checks the price and window."""
    if (price_minor is None) == (percent_off is None):
        raise typer.BadParameter("give exactly one of --price-minor and --percent-off")
    sale = pri.Sale(
        sale_price_minor=price_minor,
        percent_off_list=percent_off,
        start_time=timestamp(starts, "--starts"),
        end_time=timestamp(ends, "--ends"),
    )

    def change(product: pri.Product) -> bool:
        product.sale.CopyFrom(sale)
        return True

    _show_product(run(ctx, lambda c: _change(c, product_id, change)), json_output)


@app.command("stop-sale", epilog="Example: priceledger prices stop-sale pro-plan")
def stop_sale(ctx: typer.Context, product_id: ProductId, json_output: Json = False) -> None:
    """End a product's sale now; a product without a sale is left as it is."""

    def change(product: pri.Product) -> bool:
        had_sale = product.HasField("sale")
        product.ClearField("sale")
        return had_sale

    _show_product(run(ctx, lambda c: _change(c, product_id, change)), json_output)


async def _change(c: Clients, product_id: str, change: Callable[[pri.Product], bool]) -> pri.Product:
    """Read, change one product, write at the version read; ABORTED if someone else wrote in between."""
    config = await c.pricing.get_pricing_config()
    if not change(_find(config, product_id)):
        return _find(config, product_id)
    written = await c.pricing.update_pricing_config(config.products, expected_version=config.version)
    return _find(written, product_id)


def _find(config: pri.PricingConfig, product_id: str) -> pri.Product:
    for product in config.products:
        if product.product_id == product_id:
            return product
    message = f"product {product_id!r} is not in the catalogue (version {config.version})"
    raise NotFound(message, reason="PRODUCT_NOT_FOUND")


def _show_product(product: pri.Product, json_output: bool) -> None:
    if json_output:
        emit_json(product)
    else:
        table(product.product_id, COLUMNS, [_row(product)])


def _row(p: pri.Product) -> tuple[str, ...]:
    return (
        p.product_id,
        p.display_name,
        money(p.list_price_minor, p.currency),
        money(p.launch_price_minor, p.currency),
        name(pri.PricingMode, p.base_mode),
        _sale(p),
    )


def _sale(p: pri.Product) -> str:
    if not p.HasField("sale"):
        return ""
    s = p.sale
    price = (
        money(s.sale_price_minor, p.currency)
        if s.WhichOneof("price") == "sale_price_minor"
        else f"{s.percent_off_list}% off list"
    )
    return f"{price} {window(s.start_time, s.end_time)}".strip()
