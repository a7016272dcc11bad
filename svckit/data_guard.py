"""Detects that a service's Redis lost data, and holds mutations until an operator acknowledges it."""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass

from svckit import redis_metrics
from svckit.errors import FailedPrecondition, Unavailable
from svckit.replica_acks import acked_writes, inspect_replication

log = logging.getLogger("data_guard")


class DataLossUnacknowledged(Unavailable):
    """UNAVAILABLE, not FAILED_PRECONDITION: callers (payment_svc's sweeper) retry until it clears."""

    reason = "DATA_LOSS_UNACKNOWLEDGED"


class NoDataLossDetected(FailedPrecondition):
    reason = "NO_DATA_LOSS_DETECTED"


@dataclass(frozen=True)
class DataLoss:
    evidence: str  # UPPER_SNAKE: EPOCH_MISSING, EPOCH_CHANGED or a service's own
    detail: str
    detected_ms: int


class DataGuard:
    """One per process. The service's deployment epoch lives in Redis in `<service>:data-epoch`.

    That key is a hash without TTL: field `epoch` (written once, HSETNX, by the first process to start on
    an empty Redis) and one field `ack:<old epoch>` (JSON: who, when, note, evidence) per acknowledged
    loss. Each process remembers the epoch it first read; the health probe (`check`) compares. A missing
    or different epoch means Redis is not the one the process started on: data was lost. Other code
    reports its own evidence with `report_loss`.

    An acknowledgement rotates the epoch and records `ack:<epoch the loss was seen under>`, so other
    processes of the service that saw the same loss clear it at their next probe, and a process that
    started after the loss (remembering the new epoch) is left alone.
    """

    def __init__(self, redis, service: str) -> None:
        self._redis = redis
        self._key = f"{service}:data-epoch"
        self._epoch: str | None = None
        self._loss: DataLoss | None = None
        self._on_acknowledged: list[Callable[[], None]] = []

    @property
    def epoch(self) -> str:
        return self._epoch or ""

    @property
    def loss(self) -> DataLoss | None:
        """The first evidence seen, while no operator has acknowledged it."""
        return self._loss

    def report_loss(self, evidence: str, detail: str = "") -> None:
        """The one call for any code that sees that Redis lost data; safe to call repeatedly.

        From the first report on, the process is NOT_SERVING on health and refuses mutations with
        DATA_LOSS_UNACKNOWLEDGED; reads go on. `evidence` is an UPPER_SNAKE name, `detail` for the operator.
        """
        if self._loss is not None:
            return
        self._loss = DataLoss(evidence, detail, time.time_ns() // 1_000_000)
        redis_metrics.data_loss_detected()
        log.critical(
            "Redis lost data: mutations are refused until an operator calls AcknowledgeDataLoss",
            extra={"evidence": evidence, "detail": detail, "key": self._key, "epoch": self._epoch},
        )

    def on_acknowledged(self, callback: Callable[[], None]) -> None:
        """`callback()` runs when a loss clears, so its reporter can accept the data as it is now."""
        self._on_acknowledged.append(callback)

    def refuse_mutation(self) -> None:
        if self._loss is not None:
            raise DataLossUnacknowledged(
                f"Redis lost data ({self._loss.evidence}); an operator must call AcknowledgeDataLoss",
                metadata={"evidence": self._loss.evidence},
            )

    async def check(self) -> None:
        """The health probe: one read of the epoch, which also proves that Redis answers.

        The first look also inspects the replicas when replica acks are on (warnings at startup), and
        founds the epoch with a write the replicas confirm: a failover must not make it vanish.
        """
        if self._epoch is None:  # this process's first look (at startup): adopt the epoch, or found one
            await inspect_replication(self._redis)
            fields = await self._read()
            if "epoch" not in fields:
                await acked_writes(self._redis, ("HSETNX", self._key, "epoch", os.urandom(8).hex()))
                fields = await self._read()
            self._epoch = fields["epoch"]
            return
        fields = await self._read()
        current = fields.get("epoch")
        if current == self._epoch:
            return
        if current is not None and f"ack:{self._epoch}" in fields:
            log.warning("data loss acknowledged by an operator on another process", extra={"epoch": current})
            self._epoch = current
            self._cleared()
            return
        if current is None:
            self.report_loss("EPOCH_MISSING", f"{self._key} is gone (FLUSHALL, a lost volume or a failover?)")
        else:
            self.report_loss("EPOCH_CHANGED", f"{self._key} was {self._epoch}, now {current}")

    async def acknowledge(self, note: str, by: str) -> tuple[DataLoss, str]:
        """Accepts Redis's data as it is now; returns the cleared loss and the epoch from now on."""
        loss = self._loss
        if loss is None:
            raise NoDataLossDetected("this process has detected no data loss")
        current = (await self._read()).get("epoch")
        # Keep an epoch written since the loss (by a process started on the new data); else rotate it,
        # so that other processes notice the acknowledgement.
        epoch = current if current not in (None, self._epoch) else os.urandom(8).hex()
        record = {"by": by, "at_ms": time.time_ns() // 1_000_000, "note": note, "evidence": loss.evidence}
        await acked_writes(
            self._redis, ("HSET", self._key, "epoch", epoch, f"ack:{self._epoch}", json.dumps(record))
        )
        log.warning("data loss acknowledged", extra={"by": by, "note": note, "epoch": epoch})
        self._epoch = epoch
        self._cleared()
        return loss, epoch

    def _cleared(self) -> None:
        self._loss = None
        for callback in self._on_acknowledged:
            callback()

    async def _read(self) -> dict[str, str]:
        raw = await self._redis.hgetall(self._key)
        return {_text(k): _text(v) for k, v in raw.items()}


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value
