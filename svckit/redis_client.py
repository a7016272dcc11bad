"""Redis access for a single server or a Cluster, Lua script loading, and hash-tagged key names."""

from __future__ import annotations

import logging
import os
from collections.abc import Awaitable, Callable, Sequence
from importlib import resources
from typing import cast

from redis.asyncio import BlockingConnectionPool, Connection, Redis, RedisCluster
from redis.asyncio.client import Pipeline
from redis.asyncio.cluster import ClusterNode, ClusterPipeline
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel
from redis.backoff import ExponentialBackoff
from redis.commands.core import AsyncScript
from redis.exceptions import (
    ClusterError,
    OutOfMemoryError,
    ReadOnlyError,
    RedisClusterException,
    ResponseError,
    TryAgainError,
)
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from svckit import deadline, tracing
from svckit.config import CommonSettings
from svckit.metrics import collecting
from svckit.redis_metrics import TimedScript, Word
from svckit.replica_acks import AckedClusterScript, AckedScript, ReplicaAcks
from svckit.replication_guarantee import config_warnings
from svckit.script_pipe import PipedScript, ScriptPipe

log = logging.getLogger("redis")

RedisClient = Redis | RedisCluster
# Called alike: `await script(keys=[...], args=[...])`.
Script = AsyncScript | PipedScript | AckedScript | AckedClusterScript | TimedScript

# redis-py's pools fail a command at once (MaxConnectionsError, so UNAVAILABLE) past 100 connections, so a
# burst of concurrent RPCs failed. A single server's pool waits for a free connection instead; the asyncio
# Cluster client cannot wait, so its per-node cap sits far above any burst (Redis allows 10000 clients).
_POOL_CONNECTIONS = 256
_POOL_WAIT_S = 5.0
_CONNECT_TIMEOUT_S = 1.0
_CEILING_FALLBACK_S = 2.0  # replaced by the redis_timeout_s setting in connect()
_CLUSTER_CONNECTIONS_PER_NODE = 4096


# Replies a failover, a restart or a full server gives for a while; the command may succeed on a retry.
# redis-py gives most their own class (LOADING is a ConnectionError, CLUSTERDOWN and MASTERDOWN
# ClusterErrors); a script's wrapped reply ("ERR Error running script ... READONLY ...") is found by name.
_UNAVAILABLE_CLASSES = (
    RedisConnectionError,
    RedisTimeoutError,
    ClusterError,
    RedisClusterException,
    ReadOnlyError,
    TryAgainError,
    OutOfMemoryError,
)
_FAILOVER_ERRORS = ("CLUSTERDOWN", "TRYAGAIN", "MASTERDOWN", "READONLY", "LOADING", "NOREPLICAS", "OOM ")


def connect(settings: CommonSettings, *, decode_responses: bool = False) -> RedisClient:
    """Connects lazily; retries dropped connections, so every script must be idempotent.

    Each command, its retries and reconnects included, ends within `redis_timeout_s` (plus its own BLOCK
    time) and within the calling RPC's deadline (svckit.deadline); a hung Redis then reads as redis-py's
    TimeoutError. That one outer bound replaces a socket timeout, which would cut blocking reads short.
    """
    for warning in config_warnings(settings):
        log.warning(warning)
    ceiling_s, counted = settings.redis_timeout_s, collecting(settings)
    # Retries back off 20, 40, 80 ms...: enough for a dropped connection or a failover's first replies,
    # and cut short by the deadline anyway.
    retry = Retry(ExponentialBackoff(cap=0.5, base=0.02), retries=3)
    password = settings.redis_password.get_secret_value() if settings.redis_password else None
    acks = (
        ReplicaAcks(
            settings.redis_min_replica_acks,
            settings.redis_replica_ack_timeout_ms,
            fsync=settings.redis_replica_ack_fsync,
        )
        if settings.redis_min_replica_acks
        else None
    )
    if settings.redis_sentinels:
        client = _sentinel_master(settings, password, retry, decode_responses)
        client.ceiling_s, client.replica_acks, client.scripts_counted = ceiling_s, acks, counted
        return client
    if settings.redis_cluster_nodes:
        nodes = [
            ClusterNode(host, int(port))
            for host, port in (n.strip().rsplit(":", 1) for n in settings.redis_cluster_nodes.split(","))
        ]
        cluster = _BoundedCluster(
            startup_nodes=nodes,
            decode_responses=decode_responses,
            retry=retry,
            max_connections=_CLUSTER_CONNECTIONS_PER_NODE,
            socket_connect_timeout=min(ceiling_s, _CONNECT_TIMEOUT_S),
            password=password,
        )
        cluster.ceiling_s, cluster.replica_acks, cluster.scripts_counted = ceiling_s, acks, counted
        return cluster
    pool = BlockingConnectionPool.from_url(
        settings.redis_url,
        max_connections=_POOL_CONNECTIONS,
        timeout=min(ceiling_s, _POOL_WAIT_S),
        decode_responses=decode_responses,
        retry=retry,
        socket_connect_timeout=min(ceiling_s, _CONNECT_TIMEOUT_S),
        health_check_interval=30,
        **({"password": password} if password else {}),
    )
    client = cast(_BoundedRedis, _BoundedRedis.from_pool(pool))
    client.ceiling_s, client.replica_acks, client.scripts_counted = ceiling_s, acks, counted
    return client


def _sentinel_master(
    settings: CommonSettings, password: str | None, retry: Retry, decode_responses: bool
) -> _BoundedRedis:
    """The primary as the Sentinels name it; every new connection asks them again.

    redis-py's Sentinel pool reconnects on connection errors and on a READONLY reply (the old primary,
    demoted) and then asks the Sentinels for the current primary, so the retries of connect() follow a
    failover. Its pool does not wait for a free connection, so it has no cap to overrun.
    """
    sentinels = [
        (h, int(p)) for h, p in (n.strip().rsplit(":", 1) for n in settings.redis_sentinels.split(","))
    ]
    sentinel_password = settings.redis_sentinel_password
    connect_timeout_s = min(settings.redis_timeout_s, _CONNECT_TIMEOUT_S)
    sentinel = Sentinel(
        sentinels,
        sentinel_kwargs={
            "password": sentinel_password.get_secret_value() if sentinel_password else None,
            "socket_connect_timeout": connect_timeout_s,
            "socket_timeout": connect_timeout_s,  # a hung Sentinel is skipped for the next one
        },
        password=password,
        decode_responses=decode_responses,
        retry=retry,
        socket_connect_timeout=connect_timeout_s,
        health_check_interval=30,
    )
    return sentinel.master_for(settings.redis_sentinel_master, redis_class=_BoundedRedis)


def backend_unavailable(exc: BaseException) -> bool:
    """True for Redis failures a retry may cure: unreachable, hung, failing over, loading, read-only, full."""
    if isinstance(exc, _UNAVAILABLE_CLASSES):
        return True
    if isinstance(exc, AttributeError | TypeError):
        return _raised_by_a_closing_connection(exc)
    return isinstance(exc, ResponseError) and any(word in str(exc) for word in _FAILOVER_ERRORS)


def _raised_by_a_closing_connection(exc: BaseException) -> bool:
    """redis-py 8.1's asyncio connection lets a write race a disconnect and raise AttributeError or
    TypeError from inside itself or asyncio's transport, not ConnectionError (redis/redis-py#4287, #3546);
    seen here when a Cluster master was killed under load. Only errors raised in those files count."""
    frame = exc.__traceback__
    while frame is not None and frame.tb_next is not None:
        frame = frame.tb_next
    filename = frame.tb_frame.f_code.co_filename if frame is not None else ""
    return filename.endswith(_CONNECTION_FILES)


_CONNECTION_FILES = (
    os.path.join("redis", "asyncio", "connection.py"),
    os.path.join("asyncio", "streams.py"),
    os.path.join("asyncio", "selector_events.py"),
)


_BLOCKING_READS = frozenset({"XREAD", "XREADGROUP", b"XREAD", b"XREADGROUP"})


def _blocking_s(args: tuple) -> float:
    """How long a command may block by its own arguments (XREAD/XREADGROUP ... BLOCK <ms> ... STREAMS)."""
    if not args or args[0] not in _BLOCKING_READS:  # other commands' arguments are data, never options
        return 0.0
    for i, word in enumerate(args[:-1]):
        if word in ("STREAMS", b"STREAMS"):
            break
        if word in ("BLOCK", b"BLOCK"):
            return int(args[i + 1]) / 1000
    return 0.0


class _BoundedRedis(Redis):
    """A Redis client whose every command and pipeline ends within the budget of svckit.deadline."""

    ceiling_s = _CEILING_FALLBACK_S
    replica_acks: ReplicaAcks | None = None
    scripts_counted = True

    async def execute_command(self, *args, **options):
        async with deadline.bounded(self.ceiling_s + _blocking_s(args)):
            return await super().execute_command(*args, **options)

    def pipeline(self, transaction: bool = True, shard_hint: str | None = None) -> Pipeline:
        pipe = _BoundedPipeline(self.connection_pool, self.response_callbacks, transaction, shard_hint)
        pipe.ceiling_s = self.ceiling_s
        return pipe


class _BoundedPipeline(Pipeline):
    ceiling_s = _CEILING_FALLBACK_S

    async def execute(self, raise_on_error: bool = True):
        async with deadline.bounded(self.ceiling_s):
            return await super().execute(raise_on_error)


class _BoundedCluster(RedisCluster):
    """The Cluster client's twin of _BoundedRedis."""

    ceiling_s = _CEILING_FALLBACK_S
    replica_acks: ReplicaAcks | None = None
    scripts_counted = True

    async def execute_command(self, *args, **kwargs):
        async with deadline.bounded(self.ceiling_s + _blocking_s(args)):
            return await super().execute_command(*args, **kwargs)

    def pipeline(self, transaction: bool | None = None, shard_hint: None = None) -> ClusterPipeline:
        # redis-py declares ClusterPipeline._event_dispatcher without a value; its __init__ sets it.
        pipe = _BoundedClusterPipeline(self, transaction)  # type: ignore[abstract]
        pipe.ceiling_s = self.ceiling_s
        return pipe


class _BoundedClusterPipeline(ClusterPipeline):
    ceiling_s = _CEILING_FALLBACK_S

    async def execute(self, raise_on_error: bool = True, allow_redirections: bool = True):
        async with deadline.bounded(self.ceiling_s):
            return await super().execute(raise_on_error, allow_redirections)


def script_pipe(client: RedisClient) -> ScriptPipe | None:
    """A ScriptPipe to `client`'s server, or None where redis-py's Script must run.

    That is on a Cluster, over TLS or a socket, under Sentinel (its pool finds the primary anew on each
    connection; the pipe's one fixed address could not follow a failover), and with replica acks (WAIT
    blocks the connection it is sent on, and the pipe's one connection carries every call).
    """
    pool = getattr(client, "connection_pool", None)
    if pool is None or pool.connection_class is not Connection or getattr(client, "replica_acks", None):
        return None
    kwargs = pool.connection_kwargs
    return ScriptPipe(
        kwargs["host"],
        kwargs["port"],
        db=kwargs.get("db", 0),
        username=kwargs.get("username"),
        password=kwargs.get("password"),
        timeout_s=getattr(client, "ceiling_s", _CEILING_FALLBACK_S),
    )


def register_scripts(client: RedisClient, package: str, pipe: ScriptPipe | None = None) -> dict[str, Script]:
    """Registers every `<package>/lua/*.lua` once, through `pipe` if given; either reloads after NOSCRIPT.
    Their calls are counted (see `observed`) unless connect() was told metrics are off (METRICS_PORT=0).

    Files named `_*.lua` are libraries, not scripts: their text is prepended to every script of the folder.
    """
    files = sorted(
        (e for e in (resources.files(package) / "lua").iterdir() if e.name.endswith(".lua")), key=str
    )
    library = "".join(e.read_text() for e in files if e.name.startswith("_"))
    register = script_factory(client, pipe)
    counted = getattr(client, "scripts_counted", True)
    return {
        e.name.removesuffix(".lua"): observed(
            e.name.removesuffix(".lua"), register(_with_library(e.read_text(), library)), counted=counted
        )
        for e in files
        if not e.name.startswith("_")
    }


def observed(name: str, script: Callable[..., Awaitable[object]], *, counted: bool = True) -> Script:
    """The script counted in redis_script_* and, while tracing is on, traced. Chosen once, here, so with
    tracing off no call pays for a span it does not make, and with `counted` off too (metrics off) the
    script itself is returned. A traced script is always counted."""
    if tracing.tracer is not None:
        return TracedScript(name, script)
    return TimedScript(name, script) if counted else cast(Script, script)


class TracedScript(TimedScript):
    """A counted script call that is also a CLIENT span of the current trace."""

    __slots__ = ()

    async def __call__(self, keys: Sequence[Word] = (), args: Sequence[Word] = ()) -> object:
        with tracing.span(
            f"redis {self._name}", {"db.system": "redis", "db.operation": "EVALSHA"}, client=True
        ):
            return await super().__call__(keys, args)


def script_factory(client: RedisClient, pipe: ScriptPipe | None = None) -> Callable[[str], Script]:
    """The one place every Lua script is registered: through `pipe` if given, else redis-py's Script, or,
    when connect() was told to wait for replicas, a script whose every call waits for their confirmation."""
    if pipe is not None:
        return pipe.register
    acks = getattr(client, "replica_acks", None)
    if acks is None:
        return client.register_script
    if isinstance(client, RedisCluster):
        return lambda text: AckedClusterScript(client, text, acks)
    return lambda text: AckedScript(client, text, acks)


def _with_library(script: str, library: str) -> str:
    """`library` goes after the script's `#!lua` line, if any: Redis reads flags from the first line only."""
    if not script.startswith("#!"):
        return library + script
    shebang, _, body = script.partition("\n")
    return f"{shebang}\n{library}{body}"


def tagged_key(prefix: str, owner: str, *parts: str) -> str:
    """`tagged_key("bal", "acct_1", "log")` -> `bal:{acct_1}:log`: one owner's keys share a slot."""
    return ":".join((prefix, "{" + owner + "}", *parts))
