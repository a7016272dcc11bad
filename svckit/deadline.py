"""The caller's gRPC deadline, carried to every Redis call of the RPC so none outlives it."""

from __future__ import annotations

import asyncio
import math
import time
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


class bounded:
    """Ends the block with redis-py's TimeoutError (so: UNAVAILABLE) once `budget_s` has passed.

    Everything inside, retries and reconnects included, shares the one budget. A class, not an
    asynccontextmanager: this wraps every Redis command, and a generator costs more.
    """

    __slots__ = ("_budget_s", "_timeout", "_what")

    def __init__(self, ceiling_s: float, *, what: str = "Redis") -> None:
        self._budget_s = budget_s(ceiling_s)
        self._timeout = asyncio.timeout(self._budget_s)
        self._what = what

    async def __aenter__(self) -> None:
        await self._timeout.__aenter__()

    async def __aexit__(self, exc_type, exc, tb) -> None:
        try:
            await self._timeout.__aexit__(exc_type, exc, tb)
        except TimeoutError as expired:
            raise RedisTimeoutError(f"{self._what} did not answer within {self._budget_s:.3f} s") from expired
