"""The caller's gRPC deadline, carried to every Redis call of the RPC so none outlives it."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar

from redis.exceptions import TimeoutError as RedisTimeoutError

# The answer needs time to reach the caller: a call ends this long before the caller gives up, so the
# caller reads UNAVAILABLE with a reason rather than its own DEADLINE_EXCEEDED.
ANSWER_MARGIN_S = 0.1

# time.monotonic() by which this RPC's backend calls must have ended; infinite outside an RPC.
_deadline: ContextVar[float] = ContextVar("deadline", default=math.inf)


def start_rpc(time_remaining_s: float | None) -> None:
    """Called once per RPC with grpc's `context.time_remaining()` (None: the caller set no deadline)."""
    if time_remaining_s is None or time_remaining_s > 1e8:  # grpc reports "no deadline" as a huge number
        _deadline.set(math.inf)
    else:
        _deadline.set(time.monotonic() + time_remaining_s - ANSWER_MARGIN_S)


def remaining_s() -> float | None:
    """Seconds this RPC's backend calls have left; None outside an RPC or without a caller deadline."""
    left = _deadline.get() - time.monotonic()
    return None if left == math.inf else max(0.0, left)


def budget_s(ceiling_s: float) -> float:
    """Seconds one backend call may take: the configured ceiling, cut to what the caller has left."""
    return max(0.0, min(ceiling_s, _deadline.get() - time.monotonic()))


@asynccontextmanager
async def bounded(ceiling_s: float, *, what: str = "Redis") -> AsyncIterator[None]:
    """Ends the block with redis-py's TimeoutError (so: UNAVAILABLE) once `budget_s` has passed.

    Everything inside, retries and reconnects included, shares the one budget.
    """
    budget = budget_s(ceiling_s)
    try:
        async with asyncio.timeout(budget):
            yield
    except TimeoutError as exc:
        raise RedisTimeoutError(f"{what} did not answer within {budget:.3f} s") from exc
