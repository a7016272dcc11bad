"""The real grpcurl binary (dev extras) drives the services with JSON: the README's commands, verbatim."""

from __future__ import annotations

import asyncio
import json
import re
import shlex
import sys
from pathlib import Path

import pytest

from balance_svc.config import Settings as BalanceSettings
from balance_svc.server import create_server as create_balance
from pricing_svc.catalogue import DEFAULT_CATALOGUE, LAUNCH_PRODUCT_ID
from pricing_svc.server import create_server as create_pricing
from pricing_svc.settings import Settings as PricingSettings
from tests.conftest import ADMIN_TOKEN, tls_settings

ROOT = Path(__file__).resolve().parents[2]
GRPCURL = Path(sys.executable).parent / "grpcurl"

# The README's "Drive it with grpcurl" block, verbatim: it runs against `make run` (mTLS, .state/pki).
README_BLOCK = r"""
# What each server offers (server reflection), and its health
grpcurl -cacert .state/pki/ca.pem -cert .state/pki/admin-cli.pem -key .state/pki/admin-cli-key.pem \
  localhost:50051 list
grpcurl -cacert .state/pki/ca.pem -cert .state/pki/admin-cli.pem -key .state/pki/admin-cli-key.pem \
  localhost:50051 describe pricing.v1.PricingService
grpcurl -cacert .state/pki/ca.pem -cert .state/pki/admin-cli.pem -key .state/pki/admin-cli-key.pem \
  -d '{"service": "pricing.v1.PricingService"}' localhost:50051 grpc.health.v1.Health/Check

# Quote the launch product
grpcurl -cacert .state/pki/ca.pem -cert .state/pki/admin-cli.pem -key .state/pki/admin-cli-key.pem \
  -d '{"product_id": "launch-product"}' localhost:50051 pricing.v1.PricingService/GetQuote

# Admin: create a 10% code (idempotent per request_id), then quote with it
grpcurl -cacert .state/pki/ca.pem -cert .state/pki/admin-cli.pem -key .state/pki/admin-cli-key.pem \
  -H "authorization: Bearer $ADMIN_TOKEN" \
  -d '{"discount_code": {"code": "LAUNCH10", "kind": "DISCOUNT_KIND_PERCENT", "percent_off": 10},
       "request_id": "readme-launch10"}' \
  localhost:50051 pricing.v1.PricingService/CreateDiscountCode
grpcurl -cacert .state/pki/ca.pem -cert .state/pki/admin-cli.pem -key .state/pki/admin-cli-key.pem \
  -d '{"product_id": "launch-product", "discount_code": "launch10"}' \
  localhost:50051 pricing.v1.PricingService/GetQuote

# Admin: credit an account by adjustment, then read its balance
grpcurl -cacert .state/pki/ca.pem -cert .state/pki/admin-cli.pem -key .state/pki/admin-cli-key.pem \
  -H "authorization: Bearer $ADMIN_TOKEN" \
  -d '{"account_id": "acct_demo", "amount_minor": 1000, "currency": "USD",
       "reason": "TRANSACTION_REASON_ADJUSTMENT", "request_id": "readme-credit-1"}' \
  localhost:50052 balance.v1.BalanceService/Credit
grpcurl -cacert .state/pki/ca.pem -cert .state/pki/admin-cli.pem -key .state/pki/admin-cli-key.pem \
  -d '{"account_id": "acct_demo"}' localhost:50052 balance.v1.BalanceService/GetBalance
"""


def commands_in(block: str) -> list[str]:
    """The grpcurl commands of a shell block, each as one line (continuations joined, comments dropped)."""
    joined = re.sub(r"\\\n\s*", "", block)
    lines, command = [], ""
    for line in joined.splitlines():  # a quoted -d argument may span lines, as in a shell
        command = f"{command}\n{line}" if command else line
        if command.count("'") % 2 == 0:
            lines.append(command)
            command = ""
    return [c for c in lines if c.startswith("grpcurl ")]


README_COMMANDS = commands_in(README_BLOCK)


async def _grpcurl(command: str, addrs: dict[str, str]) -> tuple[int, str, str]:
    """Runs a README command with `make run`'s addresses and certificates swapped for the test servers'."""
    pki = addrs[".state/pki/"]
    argv = [
        addrs.get(arg, arg).replace("$ADMIN_TOKEN", ADMIN_TOKEN).replace(".state/pki/", pki)
        for arg in shlex.split(command)
    ]
    assert argv[0] == "grpcurl"
    proc = await asyncio.create_subprocess_exec(
        GRPCURL, *argv[1:], stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    stdout, stderr = await asyncio.wait_for(proc.communicate(), timeout=30)
    return proc.returncode, stdout.decode(), stderr.decode()


@pytest.fixture
async def addrs(single_redis, start_server, pki) -> dict[str, str]:
    settings = tls_settings(pki, **single_redis)
    return {
        "localhost:50051": await start_server(create_pricing, PricingSettings(**settings)),
        "localhost:50052": await start_server(create_balance, BalanceSettings(**settings)),
        ".state/pki/": f"{pki}/",
    }


async def test_readme_grpcurl_commands_list_describe_quote_and_administer(addrs):
    results = [await _grpcurl(command, addrs) for command in README_COMMANDS]
    for command, (code, _, stderr) in zip(README_COMMANDS, results, strict=True):
        assert code == 0, f"{command}\n{stderr}"
    listing, description, health, quote, created, discounted, credited, balance = (
        out for _, out, _ in results
    )

    assert set(listing.split()) == {
        "grpc.health.v1.Health",
        "grpc.reflection.v1alpha.ServerReflection",
        "ops.v1.OpsService",
        "pricing.v1.PricingService",
    }
    # Reflection shows each method's access policy too.
    assert (
        "rpc GetQuote ( .pricing.v1.GetQuoteRequest ) returns ( .pricing.v1.GetQuoteResponse ) {\n"
        "    option (.access.v1.access) = { any_authenticated:true };"
    ) in description
    assert json.loads(health) == {"status": "SERVING"}

    launch = DEFAULT_CATALOGUE.product(LAUNCH_PRODUCT_ID)
    quoted = json.loads(quote)["quote"]
    assert quoted["mode"] == "PRICING_MODE_LAUNCH"
    assert int(quoted["final_amount_minor"]) == launch.launch_price_minor  # int64 travels as a JSON string

    assert json.loads(created)["discount_code"]["code"] == "LAUNCH10"
    with_code = json.loads(discounted)["quote"]
    ten_percent_off = (launch.launch_price_minor * 10 + 50) // 100
    assert with_code["discount_code"] == "LAUNCH10"
    assert int(with_code["final_amount_minor"]) == launch.launch_price_minor - ten_percent_off

    assert int(json.loads(credited)["balance"]["balance_minor"]) == 1000
    assert int(json.loads(balance)["balance"]["available_minor"]) == 1000


async def test_grpcurl_admin_call_without_the_bearer_token_is_permission_denied_for_the_cert_identity(addrs):
    admin_call = next(c for c in README_COMMANDS if "CreateDiscountCode" in c)
    code, _, stderr = await _grpcurl(
        admin_call.replace('-H "authorization: Bearer $ADMIN_TOKEN" ', ""), addrs
    )
    assert code != 0
    assert "Code: PermissionDenied" in stderr and "ROLE_MISSING" in stderr


async def test_grpcurl_without_a_client_certificate_fails_the_handshake(addrs):
    quote = next(c for c in README_COMMANDS if "GetQuote" in c)
    no_cert = quote.replace("-cert .state/pki/admin-cli.pem -key .state/pki/admin-cli-key.pem ", "")
    code, stdout, _ = await _grpcurl(no_cert, addrs)
    assert code != 0 and stdout == ""


async def test_grpcurl_admin_call_with_a_wrong_token_is_permission_denied(addrs):
    admin_call = next(c for c in README_COMMANDS if "CreateDiscountCode" in c)
    code, _, stderr = await _grpcurl(admin_call.replace("$ADMIN_TOKEN", "not-the-token"), addrs)
    assert code != 0
    assert "Code: PermissionDenied" in stderr


def test_readme_drive_it_with_grpcurl_section_is_exactly_these_commands():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Drive it with grpcurl", 1)[1].split("\n## ", 1)[0]
    code_blocks = re.findall(r"```(?:sh|bash|shell)?\n(.*?)```", section, flags=re.DOTALL)
    assert commands_in("\n".join(code_blocks)) == README_COMMANDS
