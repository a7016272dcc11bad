"""The `priceledger` CLI speaks mTLS with --tls-ca/--tls-cert/--tls-key (or TLS_* variables)."""

from __future__ import annotations

import asyncio
import json

from typer.testing import CliRunner

from priceledger_cli.app import app
from tests.security.conftest import TlsStack, role_token

_runner = CliRunner()


async def _priceledger(stack: TlsStack, *args: str, **env: str | None):
    base = {
        "BALANCE_SERVICE_ADDR": stack.addrs["balance"],
        "ADMIN_TOKEN": role_token("admin"),
        "TLS_CA_FILE": None,
        "TLS_CLIENT_CERT_FILE": None,
        "TLS_CLIENT_KEY_FILE": None,
        "TLS_CERT_FILE": None,
        "TLS_KEY_FILE": None,
        "PLAINTEXT_DEV_MODE": None,
    }
    return await asyncio.to_thread(
        _runner.invoke, app, list(args), env={**base, **env}, prog_name="priceledger"
    )


async def test_the_cli_adjusts_a_balance_over_mtls_with_its_flags(tls_stack: TlsStack, pki):
    flags = ["--tls-ca", str(pki / "ca.pem"), "--tls-cert", str(pki / "admin-cli.pem")]
    flags += ["--tls-key", str(pki / "admin-cli-key.pem")]
    adjusted = await _priceledger(
        tls_stack, *flags, "balances", "adjust", "acct_cli", "credit", "5", "--note", "x"
    )
    assert adjusted.exit_code == 0, adjusted.output
    shown = await _priceledger(tls_stack, *flags, "balances", "show", "acct_cli", "--json")
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.stdout)["balance_minor"] == "5"


async def test_the_cli_reads_its_tls_files_from_the_environment(tls_stack: TlsStack, pki):
    env = {
        "TLS_CA_FILE": str(pki / "ca.pem"),
        "TLS_CLIENT_CERT_FILE": str(pki / "admin-cli.pem"),
        "TLS_CLIENT_KEY_FILE": str(pki / "admin-cli-key.pem"),
    }
    shown = await _priceledger(tls_stack, "balances", "show", "acct_cli_env", **env)
    assert shown.exit_code == 0, shown.output


async def test_the_cli_without_tls_cannot_reach_an_mtls_service(tls_stack: TlsStack):
    shown = await _priceledger(tls_stack, "--timeout", "2", "balances", "show", "acct_cli_plain")
    assert shown.exit_code == 1 and shown.stderr.startswith("error: UNAVAILABLE")
