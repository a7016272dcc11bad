"""Redis access for a single server or a Cluster, Lua script loading, and hash-tagged key names."""

from __future__ import annotations

from importlib import resources

from redis.asyncio import BlockingConnectionPool, Connection, Redis, RedisCluster
from redis.asyncio.cluster import ClusterNode
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.commands.core import AsyncScript

from svckit.config import CommonSettings
from svckit.redis_metrics import TimedScript
from svckit.script_pipe import PipedScript, ScriptPipe

RedisClient = Redis | RedisCluster
Script = AsyncScript | PipedScript | TimedScript  # called alike: `await script(keys=[...], args=[...])`

# redis-py's pools fail a command at once (MaxConnectionsError, so UNAVAILABLE) past 100 connections, so a
# burst of concurrent RPCs failed. A single server's pool waits for a free connection instead; the asyncio
# Cluster client cannot wait, so its per-node cap sits far above any burst (Redis allows 10000 clients).
_POOL_CONNECTIONS = 256
_POOL_WAIT_S = 5.0
_CLUSTER_CONNECTIONS_PER_NODE = 4096


def connect(settings: CommonSettings, *, decode_responses: bool = False) -> RedisClient:
    """Connects lazily; retries dropped connections, so every script must be idempotent."""
    retry = Retry(ExponentialBackoff(cap=0.5, base=0.02), retries=3)
    if settings.redis_cluster_nodes:
        nodes = [
            ClusterNode(host, int(port))
            for host, port in (n.strip().rsplit(":", 1) for n in settings.redis_cluster_nodes.split(","))
        ]
        return RedisCluster(
            startup_nodes=nodes,
            decode_responses=decode_responses,
            retry=retry,
            max_connections=_CLUSTER_CONNECTIONS_PER_NODE,
        )
    pool = BlockingConnectionPool.from_url(
        settings.redis_url,
        max_connections=_POOL_CONNECTIONS,
        timeout=_POOL_WAIT_S,
        decode_responses=decode_responses,
        retry=retry,
        socket_connect_timeout=2,
        health_check_interval=30,
    )
    return Redis.from_pool(pool)


def script_pipe(client: RedisClient) -> ScriptPipe | None:
    """A ScriptPipe to `client`'s server, or None where redis-py's Script must run (Cluster, TLS, socket)."""
    pool = getattr(client, "connection_pool", None)
    if pool is None or pool.connection_class is not Connection:
        return None
    kwargs = pool.connection_kwargs
    return ScriptPipe(
        kwargs["host"],
        kwargs["port"],
        db=kwargs.get("db", 0),
        username=kwargs.get("username"),
        password=kwargs.get("password"),
    )


def register_scripts(client: RedisClient, package: str, pipe: ScriptPipe | None = None) -> dict[str, Script]:
    """Registers every `<package>/lua/*.lua` once, through `pipe` if given; either reloads after NOSCRIPT.

    Files named `_*.lua` are libraries, not scripts: their text is prepended to every script of the folder.
    """
    files = sorted(
        (e for e in (resources.files(package) / "lua").iterdir() if e.name.endswith(".lua")), key=str
    )
    library = "".join(e.read_text() for e in files if e.name.startswith("_"))
    register = pipe.register if pipe is not None else client.register_script
    return {
        e.name.removesuffix(".lua"): TimedScript(
            e.name.removesuffix(".lua"), register(_with_library(e.read_text(), library))
        )
        for e in files
        if not e.name.startswith("_")
    }


def _with_library(script: str, library: str) -> str:
    """`library` goes after the script's `#!lua` line, if any: Redis reads flags from the first line only."""
    if not script.startswith("#!"):
        return library + script
    shebang, _, body = script.partition("\n")
    return f"{shebang}\n{library}{body}"


def tagged_key(prefix: str, owner: str, *parts: str) -> str:
    """`tagged_key("bal", "acct_1", "log")` -> `bal:{acct_1}:log`: one owner's keys share a slot."""
    return ":".join((prefix, "{" + owner + "}", *parts))
