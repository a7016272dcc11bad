"""The calling RPC's deadline, so Stripe calls made on its behalf answer before the caller gives up."""

from __future__ import annotations

import asyncio
import contextvars
import functools
from collections.abc import Awaitable, Callable
from typing import Any

# Absolute loop time by which the current RPC must have answered; None outside an RPC (webhooks, sweeps).
_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar("rpc_deadline", default=None)

# Kept back from the caller's remaining time for our own answer: what follows a failed Stripe call
# (releasing a code, writing the order) and the trip back.
_MARGIN_SHARE = 0.1
_MIN_MARGIN_S = 0.25


def with_rpc_deadline(handler: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    """Decorates a servicer method: the RPC's remaining time bounds what it waits for."""

    @functools.wraps(handler)
    async def wrapper(self, request, context):
        remaining = context.time_remaining()
        if remaining is not None:
            margin = max(_MIN_MARGIN_S, remaining * _MARGIN_SHARE)
            _deadline.set(asyncio.get_running_loop().time() + remaining - margin)
        return await handler(self, request, context)

    return wrapper


def call_deadline(budget_s: float) -> float:
    """Loop time by which one outside call (with its retries) must end: its budget or the RPC's end."""
    end = asyncio.get_running_loop().time() + budget_s
    rpc_end = _deadline.get()
    return end if rpc_end is None else min(end, rpc_end)
