"""One CLI invocation: where the services are, the clients it opens, and how a failed call ends it."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import TypeVar

import grpc
import typer

from priceledger_client import BalanceClient, ClientError, OpsClient, PaymentClient, PricingClient
from priceledger_client.base import new_id
from svckit.config import CommonSettings
from svckit.tls import channel_credentials

T = TypeVar("T")


@dataclass(frozen=True)
class TlsFiles:
    """--tls-ca, --tls-cert, --tls-key (or TLS_CA_FILE, TLS_CLIENT_CERT_FILE, TLS_CLIENT_KEY_FILE)."""

    ca: str | None = None
    cert: str | None = None
    key: str | None = None

    def credentials(self) -> grpc.ChannelCredentials | None:
        """mTLS when a CA is given; the rest of the TLS settings come from the environment."""
        given = {"tls_ca_file": self.ca, "tls_client_cert_file": self.cert, "tls_client_key_file": self.key}
        settings = CommonSettings().model_copy(update={k: v for k, v in given.items() if v})
        return channel_credentials(settings)


@dataclass(frozen=True)
class Target:
    """The global options; None means the services' own environment variable (or its default)."""

    pricing_addr: str | None
    balance_addr: str | None
    payment_addr: str | None
    admin_token: str | None = field(repr=False)
    timeout_s: float | None
    tls: TlsFiles = field(default_factory=TlsFiles)
    # One id for every call of the invocation, so the services' logs tie them together.
    correlation_id: str = field(default_factory=new_id)


class Clients:
    """The clients one command needs, each opened on first use."""

    def __init__(self, target: Target) -> None:
        self._target = target
        self._opened: list = []

    def _open(self, cls, addr: str | None):
        client = cls.from_env(
            addr,
            self._target.admin_token,
            timeout_s=self._target.timeout_s,
            caller_id=f"priceledger-cli:{os.environ.get('USER', 'unknown')}",
            credentials=self._target.tls.credentials(),
            correlation_id=lambda: self._target.correlation_id,
        )
        self._opened.append(client)
        return client

    @cached_property
    def pricing(self) -> PricingClient:
        return self._open(PricingClient, self._target.pricing_addr)

    @cached_property
    def balance(self) -> BalanceClient:
        return self._open(BalanceClient, self._target.balance_addr)

    @cached_property
    def payment(self) -> PaymentClient:
        return self._open(PaymentClient, self._target.payment_addr)

    def ops(self, service: str) -> OpsClient:
        """OpsService on `service` (pricing, balance or payment): each serves its own."""
        addr = getattr(self._target, f"{service}_addr") or getattr(
            CommonSettings(), f"{service}_service_addr"
        )
        return self._open(OpsClient, addr)

    async def close(self) -> None:
        for client in self._opened:
            await client.close()


def run(ctx: typer.Context, work: Callable[[Clients], Awaitable[T]]) -> T:
    """Runs `work` with the invocation's clients; a failed call prints one line and exits 1."""
    target = ctx.find_object(Target)
    if target is None:  # the root callback sets it before any command runs
        raise typer.Exit(2)

    async def _run() -> T:
        clients = Clients(target)
        try:
            return await work(clients)
        finally:
            await clients.close()

    try:
        return asyncio.run(_run())
    except ClientError as err:
        typer.echo(f"error: {error_line(err)}", err=True)
        raise typer.Exit(1) from err


def error_line(err: ClientError) -> str:
    """Status, reason, message and field violations; and a mutation's request_id, to retry it safely."""
    return f"{err} (request_id {err.request_id})" if err.request_id and err.transient else str(err)
