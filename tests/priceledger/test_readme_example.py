"""The README's client library example runs as written against the stack."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def library_example() -> str:
    section = README.read_text().split("## Client library", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.DOTALL).group(1)


async def test_the_readme_client_example_credits_and_reads_the_balance(e2e, monkeypatch):
    monkeypatch.setenv("BALANCE_SERVICE_ADDR", e2e.balance)
    monkeypatch.setenv("ADMIN_TOKEN", e2e.admin_token)  # promotional credit is the admin's
    code = library_example()
    assert len([line for line in code.splitlines() if line.strip()]) <= 5
    namespace: dict = {}
    exec(f"async def example():\n{textwrap.indent(code, '    ')}\n    return locals()", namespace)
    first = (await namespace["example"]())["available_minor"]
    second = (await namespace["example"]())["available_minor"]
    assert second - first == 500
