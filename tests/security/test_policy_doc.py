"""The README's access policy table is the one the protos declare."""

from __future__ import annotations

from pathlib import Path

from devtools.policy_doc import markdown

ROOT = Path(__file__).resolve().parents[2]


def test_readme_shows_the_declared_access_policy():
    assert markdown() in (ROOT / "README.md").read_text(), "run `python -m devtools.policy_doc` and paste"
