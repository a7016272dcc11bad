"""The TLS handshake refuses a client certificate from another CA, an expired one, or none."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import grpc
import pytest
from pricing.v1 import pricing_service_pb2 as pri
from pricing.v1 import pricing_service_pb2_grpc

from devtools import dev_pki
from tests.security.conftest import TlsStack

QUOTE = pri.GetQuoteRequest(product_id="launch-product")


def _client(pki: Path, cert: bytes | None, key: bytes | None) -> grpc.ChannelCredentials:
    return grpc.ssl_channel_credentials((pki / "ca.pem").read_bytes(), key, cert)


async def _quote(addr: str, credentials: grpc.ChannelCredentials) -> grpc.StatusCode:
    async with grpc.aio.secure_channel(addr, credentials) as channel:
        try:
            await pricing_service_pb2_grpc.PricingServiceStub(channel).GetQuote(QUOTE, timeout=5)
        except grpc.aio.AioRpcError as err:
            return err.code()
    return grpc.StatusCode.OK


def _expired(pki: Path) -> tuple[bytes, bytes]:
    ca = dev_pki.load_ca(pki)
    assert ca is not None
    long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(days=30)
    return dev_pki.issue(ca, "payment", not_before=long_ago, days=1)


def _foreign(pki: Path) -> tuple[bytes, bytes]:
    return dev_pki.issue(dev_pki.new_ca("some other CA"), "payment")


def _none(pki: Path) -> tuple[None, None]:
    return None, None


@pytest.mark.parametrize("client_cert", [_foreign, _expired, _none], ids=["another-CA", "expired", "none"])
async def test_the_handshake_refuses_a_foreign_expired_or_missing_client_certificate(
    tls_stack: TlsStack, pki, client_cert
):
    addr = tls_stack.addrs["pricing"]
    good = (pki / "payment.pem").read_bytes(), (pki / "payment-key.pem").read_bytes()
    assert await _quote(addr, _client(pki, *good)) == grpc.StatusCode.OK  # the control
    assert await _quote(addr, _client(pki, *client_cert(pki))) == grpc.StatusCode.UNAVAILABLE


async def test_a_client_refuses_a_server_certificate_from_another_ca(tls_stack: TlsStack, pki, tmp_path):
    elsewhere = dev_pki.ensure(tmp_path / "other-pki")
    credentials = grpc.ssl_channel_credentials(
        (elsewhere / "ca.pem").read_bytes(),
        (pki / "payment-key.pem").read_bytes(),
        (pki / "payment.pem").read_bytes(),
    )
    assert await _quote(tls_stack.addrs["pricing"], credentials) == grpc.StatusCode.UNAVAILABLE
