"""The `priceledger` command: admin tasks over pricing_svc, balance_svc and payment_svc."""

from __future__ import annotations

from typing import Annotated

import typer

from priceledger_cli import auto_top_up, balances, codes, data, orders, prices
from priceledger_cli.session import Target, TlsFiles

app = typer.Typer(
    name="priceledger",
    help="Admin tasks over pricing_svc, balance_svc and payment_svc. Addresses and the admin token "
    "come from the services' own environment variables unless a flag overrides them.",
    no_args_is_help=True,
    # A crash must not print the admin token from some frame's locals.
    pretty_exceptions_show_locals=False,
)
app.add_typer(prices.app, name="prices")
app.add_typer(codes.app, name="codes")
app.add_typer(balances.app, name="balances")
app.add_typer(orders.app, name="orders")
app.add_typer(auto_top_up.app, name="auto-top-up")
app.add_typer(data.app, name="data")


def _addr(env: str, service: str):
    return typer.Option(envvar=env, show_envvar=True, help=f"host:port of {service}.")


def _pem(env: str, what: str):
    return typer.Option(envvar=env, show_envvar=True, help=f"PEM file: {what}.")


@app.callback(epilog="Example: PAYMENT_SERVICE_ADDR=pay.internal:50053 priceledger orders list acct-42")
def connect(
    ctx: typer.Context,
    pricing_addr: Annotated[str | None, _addr("PRICING_SERVICE_ADDR", "pricing_svc")] = None,
    balance_addr: Annotated[str | None, _addr("BALANCE_SERVICE_ADDR", "balance_svc")] = None,
    payment_addr: Annotated[str | None, _addr("PAYMENT_SERVICE_ADDR", "payment_svc")] = None,
    admin_token: Annotated[
        str | None,
        typer.Option(envvar="ADMIN_TOKEN", show_envvar=True, help="Bearer token for admin methods."),
    ] = None,
    tls_ca: Annotated[str | None, _pem("TLS_CA_FILE", "the CA of the services; mTLS when set")] = None,
    tls_cert: Annotated[str | None, _pem("TLS_CLIENT_CERT_FILE", "the certificate the CLI presents")] = None,
    tls_key: Annotated[str | None, _pem("TLS_CLIENT_KEY_FILE", "the key of --tls-cert")] = None,
    timeout: Annotated[
        float | None, typer.Option(min=0.001, help="Deadline of each call in seconds; default per method.")
    ] = None,
) -> None:
    tls = TlsFiles(tls_ca, tls_cert, tls_key)
    ctx.obj = Target(pricing_addr, balance_addr, payment_addr, admin_token, timeout, tls)


def main() -> None:
    app(prog_name="priceledger")
