"""Which Redis settings can promise that no acknowledged write is lost, and warnings where they cannot."""

from __future__ import annotations

from svckit.config import CommonSettings

_LOSS = "a failover can lose writes this service has already acknowledged"


def config_warnings(settings: CommonSettings) -> list[str]:
    """Startup warnings: HA settings that cannot give "no acknowledged write lost", or that go unused."""
    fields = CommonSettings.model_fields
    found: list[str] = []
    acks = settings.redis_min_replica_acks
    if settings.redis_sentinels and acks == 0:
        found.append(f"REDIS_SENTINELS is set but REDIS_MIN_REPLICA_ACKS is 0: {_LOSS}")
    if settings.redis_cluster_nodes and acks == 0:
        found.append(f"REDIS_CLUSTER_NODES is set and REDIS_MIN_REPLICA_ACKS is 0: with replicas, {_LOSS}")
    if settings.redis_sentinels and settings.redis_cluster_nodes:
        found.append("REDIS_CLUSTER_NODES is unused: REDIS_SENTINELS is set and wins")
    if settings.redis_sentinels and settings.redis_url != fields["redis_url"].default:
        found.append("REDIS_URL is unused: REDIS_SENTINELS is set, so the Sentinels name the primary")
    if not settings.redis_sentinels:
        if settings.redis_sentinel_password is not None:
            found.append("REDIS_SENTINEL_PASSWORD is unused: REDIS_SENTINELS is not set")
        if settings.redis_sentinel_master != fields["redis_sentinel_master"].default:
            found.append("REDIS_SENTINEL_MASTER is unused: REDIS_SENTINELS is not set")
    if acks == 0 and settings.redis_replica_ack_timeout_ms != fields["redis_replica_ack_timeout_ms"].default:
        found.append("REDIS_REPLICA_ACK_TIMEOUT_MS is unused: REDIS_MIN_REPLICA_ACKS is 0")
    if acks == 0 and settings.redis_replica_ack_fsync:
        found.append("REDIS_REPLICA_ACK_FSYNC is unused: REDIS_MIN_REPLICA_ACKS is 0")
    return found


def replica_count_warning(connected_replicas: int, acks: int) -> str | None:
    """With more replicas than acks, Sentinel may promote one that lacks an acknowledged write."""
    if connected_replicas > acks:
        return (
            f"the primary has {connected_replicas} replicas but REDIS_MIN_REPLICA_ACKS is {acks}: {_LOSS} "
            "(the promoted replica may be one that did not confirm it)"
        )
    return None
