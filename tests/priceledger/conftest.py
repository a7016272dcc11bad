"""The client library and the CLI run against tests/e2e's stack: real processes, or compose's services."""

from __future__ import annotations

from tests.e2e.conftest import e2e  # noqa: F401  (one stack for this directory; tests use unique ids)
