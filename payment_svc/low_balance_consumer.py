"""Reads balance_svc's low-balance stream in a consumer group and hands each event to auto top-up."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Mapping

from balance.v1.low_balance_event_pb2 import LowBalanceEvent
from google.protobuf.json_format import Parse, ParseDict, ParseError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from payment_svc import metrics
from payment_svc.auto_top_up import AutoTopUps
from svckit import tracing
from svckit.errors import Unavailable
from svckit.logs import adopt_correlation_id
from svckit.redis_client import RedisClient

log = logging.getLogger(__name__)

_BATCH = 16
_RETRYABLE = (Unavailable, RedisConnectionError, RedisTimeoutError)


class LowBalanceConsumer:
    """The stream (LOW_BALANCE_STREAM) is balance_svc's; this only reads it, through the consumer group
    AUTO_TOP_UP_CONSUMER_GROUP, which it creates."""

    def __init__(
        self,
        *,
        redis: RedisClient,
        auto_top_ups: AutoTopUps,
        stream: str,
        group: str,
        block_ms: int,
        retry_idle_ms: int,
    ) -> None:
        self._redis = redis
        self._auto = auto_top_ups
        self._stream = stream
        self._group = group
        self._name = f"{socket.gethostname()}-{os.getpid()}-{id(self):x}"
        self._block_ms = block_ms
        self._retry_idle_ms = retry_idle_ms

    async def run(self) -> None:
        while True:
            try:
                await self._ensure_group()
                while True:
                    await self.poll_once()
            except asyncio.CancelledError:
                raise
            except Exception:  # keep consuming through outages; unacked events come back
                log.exception("low-balance consumer failed; retrying")
                await asyncio.sleep(1)

    async def poll_once(self) -> None:
        """Retries events whose top-up hit an outage, then reads new ones; handles a batch concurrently."""
        claimed = await self._redis.xautoclaim(
            self._stream, self._group, self._name, self._retry_idle_ms, start_id="0-0", count=_BATCH
        )
        entries = list(claimed[1])
        read = await self._redis.xreadgroup(
            self._group, self._name, {self._stream: ">"}, count=_BATCH, block=self._block_ms
        )
        # [[stream, entries]] in RESP2, which this connection speaks; {stream: entries} in RESP3.
        for stream_entries in read.values() if isinstance(read, dict) else (pair[1] for pair in read or ()):
            entries.extend(stream_entries)
        await asyncio.gather(*(self._handle(entry_id, fields) for entry_id, fields in entries if fields))

    async def _handle(self, entry_id, fields) -> None:
        try:
            event = decode_event(fields)
        except (ParseError, ValueError):
            log.error("malformed low-balance event %s dropped", entry_id)
        else:
            adopt_correlation_id(event.correlation_id or f"low-balance-{event.transaction_id}")
            try:
                with tracing.span("low-balance event"):  # the auto top-up's own trace
                    outcome = await self._auto.on_low_balance(event)
            except _RETRYABLE as err:
                log.warning("auto top-up will be retried: %s", err, extra={"account_id": event.account_id})
                return  # stays pending; xautoclaim picks it up after retry_idle_ms
            metrics.auto_top_up(outcome.value)
            log.info("auto top-up: %s", outcome, extra={"account_id": event.account_id})
        await self._redis.xack(self._stream, self._group, entry_id)

    async def _ensure_group(self) -> None:
        try:
            # From the stream's start: events published before this service first ran still count.
            await self._redis.xgroup_create(self._stream, self._group, id="0", mkstream=True)
        except ResponseError as err:
            if "BUSYGROUP" not in str(err):
                raise


def decode_event(fields: Mapping[str, str]) -> LowBalanceEvent:
    """One stream entry's balance.v1.LowBalanceEvent, from the ProtoJSON in its `event` field.

    Entries from before the message existed carry its fields one by one under the same names; they are
    read too, so none that sat in the stream across the upgrade is dropped.
    """
    if "event" in fields:
        event = Parse(fields["event"], LowBalanceEvent(), ignore_unknown_fields=True)
    else:
        event = ParseDict(dict(fields), LowBalanceEvent(), ignore_unknown_fields=True)
    if not (event.account_id and event.transaction_id):
        raise ValueError("a low-balance event names its account and transaction")
    return event
