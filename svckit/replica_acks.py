"""Mutations acknowledged only once replicas hold them: each script call pipelined with WAIT (or WAITAOF)."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis, RedisCluster
from redis.asyncio.cluster import PipelineCommand
from redis.exceptions import (
    AskError,
    ClusterDownError,
    MovedError,
    NoScriptError,
    ResponseError,
    TryAgainError,
)
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from svckit import deadline
from svckit.errors import Unavailable
from svckit.replication_guarantee import replica_count_warning

log = logging.getLogger("redis")

Word = str | bytes | int | float

# The reply must still reach the caller when WAIT gives up at the caller's deadline.
_WAIT_MARGIN_MS = 50
# As svckit.redis_client.connect's Retry; the Cluster calls here bypass redis-py's own retries.
_RETRIES = 3
_BACKOFF_BASE_S, _BACKOFF_CAP_S = 0.02, 0.5
_CLUSTER_RETRIES = (
    RedisConnectionError,
    RedisTimeoutError,
    MovedError,
    AskError,
    TryAgainError,
    ClusterDownError,
)


class ReplicationUnconfirmed(Unavailable):
    """The mutation ran on the primary but too few replicas confirmed it in time; a retry is safe."""

    reason = "REPLICATION_UNCONFIRMED"


@dataclass
class ReplicaAcks:
    """How many replicas confirm each mutation, and for how long to wait; `waitaof` is probed once."""

    replicas: int
    timeout_ms: int
    fsync: bool = False  # REDIS_REPLICA_ACK_FSYNC: WAITAOF where the server has it
    waitaof: bool | None = field(default=None, init=False)  # None until the server was asked

    def wait_command(self, waitaof: bool, wait_ms: int) -> tuple[Word, ...]:
        if waitaof:
            return ("WAITAOF", 0, self.replicas, wait_ms)
        return ("WAIT", self.replicas, wait_ms)

    def confirmed(self, reply: object, confirmed: Any, waitaof: bool, wait_ms: int) -> object:
        """The script's reply once enough replicas confirmed; raises its error or ReplicationUnconfirmed."""
        if isinstance(reply, Exception):
            raise reply
        if isinstance(confirmed, Exception):
            raise confirmed
        count = int(confirmed[1] if waitaof else confirmed)  # WAITAOF: [local fsyncs, replica fsyncs]
        if count < self.replicas:
            raise ReplicationUnconfirmed(
                f"{count} of {self.replicas} replicas confirmed the change within {wait_ms} ms; "
                "retry with the same request_id"
            )
        return reply

    def wait_ms(self) -> int:
        """The configured wait, cut so that WAIT answers before the caller's deadline does."""
        left_s = deadline.remaining_s()
        if left_s is None:
            return self.timeout_ms
        return max(1, min(self.timeout_ms, int(left_s * 1000) - _WAIT_MARGIN_MS))  # WAIT 0 blocks forever

    async def probe(self, run: Callable[..., Awaitable]) -> bool:
        """Whether to send WAITAOF, which also waits for the replicas' AOF fsync: asked for with `fsync`,
        and only where the server has it (Redis 7.2+, Valkey; Redis 7.0 lacks it, and WAIT is sent then).

        Asked at the first mutation, which also warns when there are more replicas than acks.
        """
        if self.waitaof is None:
            self.waitaof = self.fsync and await _has_waitaof(run)
            if self.fsync and not self.waitaof:
                log.warning("REDIS_REPLICA_ACK_FSYNC is set but the server has no WAITAOF: WAIT is used")
            replication = await run("INFO", "replication")
            if warning := replica_count_warning(int(replication.get("connected_slaves", 0)), self.replicas):
                log.warning(warning)
            log.info("replica acks: %d by %s", self.replicas, "WAITAOF" if self.waitaof else "WAIT")
        return self.waitaof


async def _has_waitaof(run: Callable[..., Awaitable]) -> bool:
    try:  # asks for nothing, so it answers at once where the command exists
        await run("WAITAOF", 0, 0, 1)
    except ResponseError as exc:
        if "unknown command" not in str(exc).lower():
            raise
        return False
    return True


class AckedScript:
    """Called like redis-py's Script; sends EVALSHA and WAIT in one write on one connection.

    WAIT counts the replicas holding this connection's last write, so it must follow the script on the
    same connection: a pipeline guarantees that, and a pipeline resent after a drop resends both. Scripts
    flagged `no-writes` skip the WAIT (there is nothing to confirm, and a lost replica must not stop reads).
    """

    def __init__(self, client: Redis, text: str, acks: ReplicaAcks) -> None:
        self._client = client
        self.script = text.encode()
        self.sha = hashlib.sha1(self.script).hexdigest()
        self._acks = acks
        first_line = text.split("\n", 1)[0]
        self._writes = not (first_line.startswith("#!") and "no-writes" in first_line)

    async def __call__(self, keys: Sequence[Word] = (), args: Sequence[Word] = ()) -> object:
        try:
            return await self._run(keys, args)
        except NoScriptError:  # after SCRIPT FLUSH, a restart or a failover to a replica that never saw it
            await self._client.script_load(self.script)
            return await self._run(keys, args)

    async def _run(self, keys: Sequence[Word], args: Sequence[Word]) -> object:
        if not self._writes:
            return await self._client.evalsha(self.sha, len(keys), *keys, *args)
        waitaof = await self._acks.probe(self._client.execute_command)
        wait_ms = self._acks.wait_ms()
        async with self._client.pipeline(transaction=False) as pipe:
            pipe.ceiling_s += wait_ms / 1000  # type: ignore[attr-defined]  # a _BoundedPipeline
            pipe.evalsha(self.sha, len(keys), *keys, *args)
            pipe.execute_command(*self._acks.wait_command(waitaof, wait_ms))
            reply, confirmed = await pipe.execute(raise_on_error=False)
        return self._acks.confirmed(reply, confirmed, waitaof, wait_ms)


class AckedClusterScript:
    """AckedScript's Cluster twin: EVALSHA and WAIT go in one write to the master owning the keys' slot,
    since WAIT counts only that connection's writes. A moved slot or a failover re-reads the slot map."""

    def __init__(self, cluster: RedisCluster, text: str, acks: ReplicaAcks, ceiling_s: float) -> None:
        self._cluster = cluster
        self.script = text.encode()
        self.sha = hashlib.sha1(self.script).hexdigest()
        self._acks = acks
        self._ceiling_s = ceiling_s

    async def __call__(self, keys: Sequence[Word] = (), args: Sequence[Word] = ()) -> object:
        async with deadline.bounded(self._ceiling_s + self._acks.timeout_ms / 1000):
            failures = 0
            while True:
                try:
                    return await self._run(keys, args)
                except _CLUSTER_RETRIES:
                    failures += 1
                    if failures > _RETRIES:
                        raise
                    await asyncio.sleep(min(_BACKOFF_CAP_S, _BACKOFF_BASE_S * 2**failures))
                    await self._cluster.nodes_manager.initialize()

    async def _run(self, keys: Sequence[Word], args: Sequence[Word]) -> object:
        if not self._cluster.nodes_manager.slots_cache:
            await self._cluster.initialize()
        node = self._cluster.nodes_manager.get_node_from_slot(self._cluster.keyslot(keys[0]))
        waitaof = await self._acks.probe(
            lambda *words: self._cluster.execute_command(*words, target_nodes=node)
        )
        wait_ms = self._acks.wait_ms()
        commands = [
            PipelineCommand(0, "EVALSHA", self.sha, len(keys), *keys, *args),
            PipelineCommand(1, *self._acks.wait_command(waitaof, wait_ms)),
        ]
        await node.execute_pipeline(commands)
        reply, confirmed = commands[0].result, commands[1].result
        if isinstance(reply, NoScriptError):
            await self._cluster.execute_command("SCRIPT", "LOAD", self.script, target_nodes=node)
            return await self._run(keys, args)
        return self._acks.confirmed(reply, confirmed, waitaof, wait_ms)
