"""Background-task helpers that hold on Python 3.11, where a single cancel can be swallowed."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence


async def cancel_and_wait(tasks: Sequence[asyncio.Task]) -> None:
    """Cancels the tasks again and again until all of them have ended."""
    # On Python 3.11 asyncio.wait_for (and libraries built on it) can swallow a cancel that lands just
    # as the awaited call completes, so a loop like the health probe would keep running after one.
    pending = set(tasks)
    while pending:
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=0.5)
