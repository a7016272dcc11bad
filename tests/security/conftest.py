"""The three services with mTLS on, on one Redis, and a bearer token for every role the policy names."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest

from balance_svc.config import Settings as BalanceSettings
from balance_svc.server import create_server as create_balance
from payment_svc.config import Settings as PaymentSettings
from payment_svc.server import create_server as create_payment
from pricing_svc.server import create_server as create_pricing
from pricing_svc.settings import Settings as PricingSettings
from svckit.tokens import hash_token
from tests.conftest import tls_settings

ROLES = ("admin", "payment", "spender", "storefront")


def role_token(role: str) -> str:
    return f"token-for-{role}"


ROLE_TOKENS = [
    {
        "name": f"{role}-token",
        "identity": f"{role}-holder",
        "roles": [role],
        "sha256": hash_token(role_token(role)),
    }
    for role in ROLES
]


def credentials(pki: Path, identity: str | None) -> grpc.ChannelCredentials:
    """TLS trusting the dev CA, presenting `identity`'s certificate (none when None)."""
    if identity is None:
        return grpc.ssl_channel_credentials((pki / "ca.pem").read_bytes())
    return grpc.ssl_channel_credentials(
        (pki / "ca.pem").read_bytes(),
        (pki / f"{identity}-key.pem").read_bytes(),
        (pki / f"{identity}.pem").read_bytes(),
    )


@dataclass
class TlsStack:
    """`addrs` by service (pricing, balance, payment); `channel(service, identity)` opens an mTLS channel."""

    addrs: dict[str, str]
    redis_port: int
    channel: Callable[[str, str | None], grpc.aio.Channel]


def stack_settings(pki: Path, redis: dict[str, str], **overrides) -> dict:
    return tls_settings(pki, bearer_tokens=ROLE_TOKENS, **redis, **overrides)


@pytest.fixture
async def open_channel(pki) -> AsyncIterator[Callable[[str, str | None], grpc.aio.Channel]]:
    opened: list[grpc.aio.Channel] = []

    def _open(addr: str, identity: str | None) -> grpc.aio.Channel:
        opened.append(grpc.aio.secure_channel(addr, credentials(pki, identity)))
        return opened[-1]

    yield _open
    for channel in opened:
        await channel.close()


@pytest.fixture
async def start_tls_stack(pki, single_redis, redis_server, start_server, open_channel):
    """`stack = await start_tls_stack(require_client_cert=...)`; several may share the test's Redis.

    Without required client certificates the server asks for none (gRPC does not verify optional ones),
    so a caller there is known by its bearer token alone, and may come with no identity at all.
    """

    async def _start(*, require_client_cert: bool = True) -> TlsStack:
        common = stack_settings(pki, single_redis, tls_require_client_cert=require_client_cert)
        addrs = {
            "pricing": await start_server(create_pricing, PricingSettings(**common)),
            "balance": await start_server(create_balance, BalanceSettings(**common)),
        }
        payment = PaymentSettings(
            **common,
            pricing_service_addr=addrs["pricing"],
            balance_service_addr=addrs["balance"],
            reconcile_interval_s=0,
            auto_top_up_consumer=False,
        )
        addrs["payment"] = await start_server(create_payment, payment)
        return TlsStack(addrs, redis_server.port, lambda service, who: open_channel(addrs[service], who))

    return _start


@pytest.fixture
async def tls_stack(start_tls_stack) -> TlsStack:
    """The three services requiring client certificates, as deployed."""
    return await start_tls_stack()
