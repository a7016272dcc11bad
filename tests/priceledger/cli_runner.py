"""Runs `priceledger` in-process, in a worker thread so that its asyncio.run gets a thread of its own."""

from __future__ import annotations

import asyncio
import json

from typer.testing import CliRunner, Result

from priceledger_cli.app import app

_runner = CliRunner()


def stack_env(e2e, **overrides: str | None) -> dict[str, str | None]:
    """The services' own variables, pointed at the stack under test; None unsets one."""
    env = {
        "PRICING_SERVICE_ADDR": e2e.pricing,
        "BALANCE_SERVICE_ADDR": e2e.balance,
        "PAYMENT_SERVICE_ADDR": e2e.payment,
        "ADMIN_TOKEN": e2e.admin_token,
    }
    return {**env, **overrides}


async def priceledger(e2e, *args: str, **env: str | None) -> Result:
    return await asyncio.to_thread(
        _runner.invoke, app, list(args), env=stack_env(e2e, **env), prog_name="priceledger"
    )


async def priceledger_json(e2e, *args: str) -> dict:
    """Runs a command with --json; it must succeed."""
    result = await priceledger(e2e, *args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)
