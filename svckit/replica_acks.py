"""Writes acknowledged only once replicas hold them: each script call or plain write is pipelined with WAIT
(or WAITAOF) on the connection that made it, so confirming costs no extra round trip."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis, RedisCluster
from redis.asyncio.cluster import ClusterNode, PipelineCommand
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
Command = Sequence[Word]  # a command's words: its name, then its key

# The reply must still reach the caller when WAIT gives up at the caller's deadline.
_WAIT_MARGIN_MS = 50
# As svckit.redis_client.connect's Retry; the Cluster calls here bypass redis-py's own retries.
_RETRIES = 3
_BACKOFF_BASE_S, _BACKOFF_CAP_S = 0.02, 0.5
_CLUSTER_RETRIES = (
    RedisConnectionError,
    RedisTimeoutError,
    MovedError,
    AskError,  # an ASK to a master this client does not know yet: the slot map is read again
    TryAgainError,
    ClusterDownError,
)


class ReplicationUnconfirmed(Unavailable):
    """The write ran on the primary but too few replicas confirmed it in time; a retry is safe."""

    reason = "REPLICATION_UNCONFIRMED"


@dataclass
class ReplicaAcks:
    """How many replicas confirm each write, and for how long to wait; `waitaof` is probed once."""

    replicas: int
    timeout_ms: int
    fsync: bool = False  # REDIS_REPLICA_ACK_FSYNC: WAITAOF where the server has it
    waitaof: bool | None = field(default=None, init=False)  # None until the server was asked
    inspected: bool = field(default=False, init=False)  # by inspect_replication, once

    def wait_command(self, waitaof: bool, wait_ms: int) -> tuple[Word, ...]:
        if waitaof:
            return ("WAITAOF", 0, self.replicas, wait_ms)
        return ("WAIT", self.replicas, wait_ms)

    def confirmed(
        self, replies: Sequence[object], confirmed: Any, waitaof: bool, wait_ms: int
    ) -> list[object]:
        """The replies once enough replicas confirmed; raises an error reply or ReplicationUnconfirmed."""
        for reply in (*replies, confirmed):
            if isinstance(reply, Exception):
                raise reply
        count = int(confirmed[1] if waitaof else confirmed)  # WAITAOF: [local fsyncs, replica fsyncs]
        if count < self.replicas:
            raise ReplicationUnconfirmed(
                f"{count} of {self.replicas} replicas confirmed the change within {wait_ms} ms; "
                "retry with the same request_id"
            )
        return list(replies)

    def wait_ms(self) -> int:
        """The configured wait, cut so that WAIT answers before the caller's deadline does."""
        left_s = deadline.remaining_s()
        if left_s is None:
            return self.timeout_ms
        return max(1, min(self.timeout_ms, int(left_s * 1000) - _WAIT_MARGIN_MS))  # WAIT 0 blocks forever

    async def probe(self, run: Callable[..., Awaitable]) -> bool:
        """Whether to send WAITAOF, which also waits for the replicas' AOF fsync: asked for with `fsync`,
        and only where the server has it (Redis 7.2+, Valkey; Redis 7.0 lacks it, and WAIT is sent then).

        Asked once: at startup (inspect_replication), or at the first write of a client used without it.
        """
        if self.waitaof is None:
            self.waitaof = self.fsync and await _has_waitaof(run)
            if self.fsync and not self.waitaof:
                log.warning("REDIS_REPLICA_ACK_FSYNC is set but the server has no WAITAOF: WAIT is used")
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


async def inspect_replication(client: Redis | RedisCluster) -> None:
    """At startup, with replica acks on: probes for WAITAOF, and warns when a primary has more replicas
    than acks (a failover may then promote a replica that lacks an acknowledged write)."""
    acks: ReplicaAcks | None = getattr(client, "replica_acks", None)
    if acks is None or acks.inspected:
        return
    if isinstance(client, RedisCluster):
        await client.initialize()
        primaries = client.get_primaries()
        infos = [await client.execute_command("INFO", "replication", target_nodes=p) for p in primaries]
        await acks.probe(lambda *words: client.execute_command(*words, target_nodes=primaries[0]))
    else:
        infos = [await client.execute_command("INFO", "replication")]
        await acks.probe(client.execute_command)
    most = max(int(info.get("connected_slaves", 0)) for info in infos)
    if warning := replica_count_warning(most, acks.replicas):
        log.warning(warning)
    acks.inspected = True


async def acked_writes(client: Redis | RedisCluster, *commands: Command) -> list[object]:
    """Runs write commands (each names its key first) and returns their replies.

    With replica acks on, returns only once enough replicas hold the writes, else raises
    ReplicationUnconfirmed: WAIT rides in the same write as the commands, on their connection (on a
    Cluster, behind each command on the master owning its key). Without acks it sends exactly the
    commands, pipelined when there are several.
    """
    acks: ReplicaAcks | None = getattr(client, "replica_acks", None)
    if not commands:
        return []
    if acks is None:
        if len(commands) == 1:
            return [await client.execute_command(*commands[0])]
        async with client.pipeline(transaction=False) as pipe:
            for words in commands:
                pipe.execute_command(*words)
            return await pipe.execute()
    if isinstance(client, RedisCluster):
        return list(await asyncio.gather(*(_on_slot_master(client, acks, words) for words in commands)))
    return await _with_wait(client, acks, commands)


async def _with_wait(client: Redis, acks: ReplicaAcks, commands: Sequence[Command]) -> list[object]:
    """The commands and WAIT in one pipeline. WAIT counts the replicas that reached the replication offset
    of this connection's last command, read or write: so it must follow the commands on their connection,
    and then it also covers a retry's first attempt when the retry itself changes nothing. A pipeline
    resent after a drop resends both."""
    waitaof = await acks.probe(client.execute_command)
    wait_ms = acks.wait_ms()
    async with client.pipeline(transaction=False) as pipe:
        pipe.ceiling_s += wait_ms / 1000  # type: ignore[attr-defined]  # a _BoundedPipeline
        for words in commands:
            pipe.execute_command(*words)
        pipe.execute_command(*acks.wait_command(waitaof, wait_ms))
        *replies, confirmed = await pipe.execute(raise_on_error=False)
    return acks.confirmed(replies, confirmed, waitaof, wait_ms)


async def _on_slot_master(
    cluster: RedisCluster, acks: ReplicaAcks, words: Command, key: Word | None = None, script: bytes = b""
) -> object:
    """`words` and WAIT in one write to the master owning `key`'s slot (`words[1]` unless given), since
    WAIT counts only that connection's writes. A slot being migrated is followed to its importing master
    (ASK); a moved slot or a failover re-reads the slot map. `script` is loaded where NOSCRIPT is replied."""
    ceiling_s: float = cluster.ceiling_s  # type: ignore[attr-defined]  # replica acks come with connect()
    slot = cluster.keyslot(words[1] if key is None else key)
    async with deadline.bounded(ceiling_s + acks.timeout_ms / 1000):
        failures = 0
        while True:
            try:
                if not cluster.nodes_manager.slots_cache:
                    await cluster.initialize()
                node = cluster.nodes_manager.get_node_from_slot(slot)
                try:
                    return await _on_node(cluster, acks, node, words, script)
                except AskError as ask:  # the slot is migrating and its key is not (or no longer) here
                    target = cluster.get_node(ask.host, ask.port)
                    if target is None:
                        raise
                    return await _on_node(cluster, acks, target, words, script, asking=True)
            except _CLUSTER_RETRIES:
                failures += 1
                if failures > _RETRIES:
                    raise
                await asyncio.sleep(min(_BACKOFF_CAP_S, _BACKOFF_BASE_S * 2**failures))
                await cluster.nodes_manager.initialize()


async def _on_node(
    cluster: RedisCluster,
    acks: ReplicaAcks,
    node: ClusterNode,
    words: Command,
    script: bytes,
    *,
    asking: bool = False,
) -> object:
    """One write to `node`: ASKING first when it imports the slot (it lets the next command in), then
    `words`, then WAIT."""
    waitaof = await acks.probe(lambda *w: cluster.execute_command(*w, target_nodes=node))
    wait_ms = acks.wait_ms()
    sent = [*([("ASKING",)] if asking else []), words, acks.wait_command(waitaof, wait_ms)]
    commands = [PipelineCommand(i, *w) for i, w in enumerate(sent)]
    await node.execute_pipeline(commands)
    reply, confirmed = commands[-2].result, commands[-1].result
    if isinstance(reply, NoScriptError) and script:  # a restart, a failover, or a master that never ran it
        await cluster.execute_command("SCRIPT", "LOAD", script, target_nodes=node)
        return await _on_node(cluster, acks, node, words, script, asking=asking)
    return acks.confirmed([r.result for r in commands[:-1]], confirmed, waitaof, wait_ms)[-1]


class AckedScript:
    """Called like redis-py's Script; sends EVALSHA and WAIT in one write on one connection (_with_wait).

    Scripts flagged `no-writes` skip the WAIT (there is nothing to confirm, and a lost replica must not
    stop reads).
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
        words = ("EVALSHA", self.sha, len(keys), *keys, *args)
        return (await _with_wait(self._client, self._acks, [words]))[0]


class AckedClusterScript:
    """AckedScript's Cluster twin: EVALSHA and WAIT go in one write to the master owning the keys' slot,
    or to the master importing it (_on_slot_master)."""

    def __init__(self, cluster: RedisCluster, text: str, acks: ReplicaAcks) -> None:
        self._cluster = cluster
        self.script = text.encode()
        self.sha = hashlib.sha1(self.script).hexdigest()
        self._acks = acks

    async def __call__(self, keys: Sequence[Word] = (), args: Sequence[Word] = ()) -> object:
        words = ("EVALSHA", self.sha, len(keys), *keys, *args)
        return await _on_slot_master(self._cluster, self._acks, words, keys[0], self.script)
