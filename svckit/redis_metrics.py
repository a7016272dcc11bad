"""Redis metrics: Lua script calls by script and outcome with their latency, reachability, data loss."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence

from prometheus_client import Counter, Gauge, Histogram
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

SCRIPT_CALLS = Counter(
    "redis_script_calls_total",
    "Lua script calls by outcome: ok (the script replied, a refusal included), error (Redis or the "
    "script raised an error), unavailable (no connection or no reply in time, after retries), "
    "cancelled (the caller gave up).",
    ("script", "outcome"),
)
SCRIPT_SECONDS = Histogram(
    "redis_script_duration_seconds",
    "Time of one Lua script call as its caller waits for it, reconnects and retries included.",
    ("script",),
    buckets=(0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0),
)
REDIS_UP = Gauge("redis_up", "1 if the health probe's last PING to Redis succeeded, else 0.")
DATA_LOSS = Counter(
    "redis_data_loss_detections_total",
    "Times this process found that Redis lost data it had acknowledged (see the data-loss guard).",
)

Word = str | bytes | int | float


class TimedScript:
    """Called like the script it wraps (`await script(keys=[...], args=[...])`), and counts each call."""

    __slots__ = ("_name", "_ok", "_script", "_seconds")

    def __init__(self, name: str, script: Callable[..., Awaitable[object]]) -> None:
        self._name = name
        self._script = script
        self._ok = SCRIPT_CALLS.labels(name, "ok")
        SCRIPT_CALLS.labels(name, "unavailable")  # at 0 from the start, so the first outage is an increase
        self._seconds = SCRIPT_SECONDS.labels(name)

    async def __call__(self, keys: Sequence[Word] = (), args: Sequence[Word] = ()) -> object:
        started = time.perf_counter()
        try:
            reply = await self._script(keys=keys, args=args)
        except BaseException as exc:
            self._seconds.observe(time.perf_counter() - started)
            SCRIPT_CALLS.labels(self._name, _outcome(exc)).inc()
            raise
        self._seconds.observe(time.perf_counter() - started)
        self._ok.inc()
        return reply


def _outcome(exc: BaseException) -> str:
    # BusyLoadingError is a ConnectionError; TimeoutError is a deadline around the call.
    if isinstance(exc, RedisConnectionError | RedisTimeoutError | TimeoutError):
        return "unavailable"
    if isinstance(exc, asyncio.CancelledError):
        return "cancelled"
    return "error"


def data_loss_detected() -> None:
    """The data-loss guard calls this once per detection; `RedisDataLoss` alerts on any increase."""
    DATA_LOSS.inc()
