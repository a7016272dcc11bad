"""A renewed server certificate is served from the next handshake on, without a restart."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import ssl
from pathlib import Path

from cryptography import x509

from balance_svc.config import Settings as BalanceSettings
from balance_svc.server import create_server as create_balance
from devtools import dev_pki
from tests.conftest import tls_settings


def _served_serial(addr: str, pki: Path) -> int:
    """The serial of the certificate the server presents to a new TLS connection."""
    context = ssl.create_default_context(cafile=pki / "ca.pem")
    context.load_cert_chain(pki / "admin-cli.pem", pki / "admin-cli-key.pem")
    context.set_alpn_protocols(["h2"])
    host, port = addr.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=5) as raw:
        with context.wrap_socket(raw, server_hostname="localhost") as tls:
            return x509.load_der_x509_certificate(tls.getpeercert(binary_form=True)).serial_number


def _replace(path: Path, data: bytes) -> None:
    """As a secret volume or cert-manager does: write aside, then rename over."""
    tmp = path.with_suffix(".new")
    tmp.write_bytes(data)
    os.replace(tmp, path)


async def test_a_renewed_certificate_is_served_to_new_connections_without_a_restart(
    pki, tmp_path, single_redis, start_server
):
    own = tmp_path / "pki"
    shutil.copytree(pki, own)
    addr = await start_server(create_balance, BalanceSettings(**tls_settings(own, **single_redis)))
    before = await asyncio.to_thread(_served_serial, addr, own)

    ca = dev_pki.load_ca(own)
    assert ca is not None
    cert, key = dev_pki.issue(ca, "balance")
    _replace(own / "balance-key.pem", key)
    mismatched = await asyncio.to_thread(_served_serial, addr, own)  # key renewed, certificate not yet
    _replace(own / "balance.pem", cert)
    after = await asyncio.to_thread(_served_serial, addr, own)

    assert mismatched == before  # a half-written pair is not taken
    assert after == x509.load_pem_x509_certificate(cert).serial_number != before
