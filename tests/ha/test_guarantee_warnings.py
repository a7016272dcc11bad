"""Startup warnings name the Redis settings that cannot keep every acknowledged write, or go unused."""

from __future__ import annotations

import pytest

from svckit.config import CommonSettings
from svckit.replication_guarantee import config_warnings, replica_count_warning


def _warnings(**env) -> list[str]:
    return config_warnings(CommonSettings(**env))


def test_a_single_redis_without_ha_settings_gets_no_warning():
    assert _warnings() == []


def test_sentinel_without_replica_acks_is_warned_as_able_to_lose_acknowledged_writes():
    assert any("REDIS_MIN_REPLICA_ACKS is 0" in w for w in _warnings(redis_sentinels="h:26379"))
    assert _warnings(redis_sentinels="h:26379", redis_min_replica_acks=1) == []


def test_cluster_without_replica_acks_is_warned_as_able_to_lose_acknowledged_writes():
    assert any("acknowledged" in w for w in _warnings(redis_cluster_nodes="h:7000"))


@pytest.mark.parametrize(
    ("env", "unused"),
    [
        ({"redis_sentinel_password": "pw"}, "REDIS_SENTINEL_PASSWORD"),
        ({"redis_sentinel_master": "payments"}, "REDIS_SENTINEL_MASTER"),
        ({"redis_replica_ack_timeout_ms": 900}, "REDIS_REPLICA_ACK_TIMEOUT_MS"),
        ({"redis_replica_ack_fsync": True}, "REDIS_REPLICA_ACK_FSYNC"),
        (
            {"redis_sentinels": "h:1", "redis_min_replica_acks": 1, "redis_cluster_nodes": "h:2"},
            "REDIS_CLUSTER_NODES",
        ),
        ({"redis_sentinels": "h:1", "redis_min_replica_acks": 1, "redis_url": "redis://x:1/0"}, "REDIS_URL"),
    ],
)
def test_ha_settings_that_go_unused_are_warned(env, unused):
    assert [w for w in _warnings(**env) if w.startswith(f"{unused} is unused")]


def test_more_replicas_than_acks_is_warned_and_as_many_is_not():
    assert replica_count_warning(2, 1) is not None
    assert replica_count_warning(1, 1) is None
