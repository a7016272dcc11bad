"""Fixtures: a real Sentinel group and a real Cluster with replicas; the payment stack of tests/payment."""

from __future__ import annotations

import pytest

from devtools.redis_procs import RedisCluster, SentinelGroup
from tests.payment.conftest import fake_stripe, start_stack

__all__ = ["fake_stripe", "start_stack"]  # tests/payment's fixtures, used here on HA Redis


@pytest.fixture
def sentinel_group(tmp_path) -> SentinelGroup:
    with SentinelGroup(tmp_path) as group:
        yield group


@pytest.fixture
def cluster_with_replicas(tmp_path) -> RedisCluster:
    with RedisCluster(tmp_path, replicas=True, appendfsync="always") as cluster:
        yield cluster
