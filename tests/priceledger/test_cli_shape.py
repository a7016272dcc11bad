"""The command tree: help with an example everywhere, shell completion, and the installed console script."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import typer
from typer.testing import CliRunner

from priceledger_cli.app import app
from tests.priceledger.cli_runner import stack_env
from tests.priceledger.support import unique

runner = CliRunner()


def command_paths(command=None, path=()) -> list[tuple[str, ...]]:
    """Every runnable command as its words after `priceledger`."""
    command = command or typer.main.get_command(app)
    children = getattr(command, "commands", None)
    if not children:
        return [path]
    return [leaf for name, child in children.items() for leaf in command_paths(child, (*path, name))]


def test_every_command_has_help_with_an_example_of_itself():
    paths = command_paths()
    assert len(paths) == 19  # prices 4, codes 4, balances 4, orders 3, auto-top-up 2, data 2
    for path in paths:
        result = runner.invoke(app, [*path, "--help"], prog_name="priceledger")
        assert result.exit_code == 0, result.output
        text = " ".join(result.output.split())
        assert f"Example: priceledger {' '.join(path)} " in text, path


def test_shell_completion_completes_groups_and_their_commands():
    def complete(words: str) -> list[str]:
        env = {
            "_PRICELEDGER_COMPLETE": "complete_bash",
            "COMP_WORDS": words,
            "COMP_CWORD": str(len(words.split(" ")) - 1),
        }
        return runner.invoke(app, [], env=env, prog_name="priceledger").output.split()

    assert complete("priceledger bal") == ["balances"]
    assert complete("priceledger balances ") == ["show", "history", "verify", "adjust"]
    script = runner.invoke(app, ["--show-completion", "bash"], prog_name="priceledger")
    assert "_PRICELEDGER_COMPLETE=complete_bash" in script.output


async def test_the_installed_console_script_reads_the_services_environment(e2e):
    script = Path(sys.executable).parent / "priceledger"
    env = {**os.environ, **stack_env(e2e)}
    account = unique("acct")
    done = await asyncio.to_thread(
        subprocess.run,
        [str(script), "balances", "show", account, "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["account_id"] == account
