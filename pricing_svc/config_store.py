"""The versioned pricing config in Redis: current version, compare-and-set update, audit trail.

Keys (one hash tag, so the update script runs on a Cluster):
  pricing:{config}           hash {version, config: PricingConfig bytes}; absent = version 0, the default
  pricing:{config}:changes   hash {version -> PricingConfigChange bytes}, the audit trail
  pricing:{config}:requests  hash {request_id -> "fingerprint:version"}, for idempotent updates
"""

from __future__ import annotations

import hashlib

from pricing.v1 import pricing_service_pb2 as pb
from redis.commands.core import AsyncScript

from pricing_svc import convert
from pricing_svc.catalogue import DEFAULT_CATALOGUE, Catalogue, Product
from pricing_svc.errors import BY_REASON, ConfigVersionMismatch
from svckit.redis_client import RedisClient, tagged_key

CONFIG_KEY = tagged_key("pricing", "config")
CHANGES_KEY = tagged_key("pricing", "config", "changes")
REQUESTS_KEY = tagged_key("pricing", "config", "requests")


class ConfigStore:
    def __init__(self, redis: RedisClient, update_script: AsyncScript) -> None:
        self._redis = redis
        self._update = update_script

    async def version(self) -> int:
        """One small read: what a replica polls to notice a change."""
        return int(await self._redis.hget(CONFIG_KEY, "version") or 0)

    async def load(self) -> Catalogue:
        raw = await self._redis.hget(CONFIG_KEY, "config")
        if raw is None:
            return DEFAULT_CATALOGUE
        return convert.catalogue_from_pb(pb.PricingConfig.FromString(raw))

    async def update(
        self,
        products: tuple[Product, ...],
        *,
        expected_version: int,
        request_id: str,
        caller: str,
        now_ms: int,
    ) -> pb.PricingConfigChange:
        """Writes version `expected_version + 1`; raises ConfigVersionMismatch if it is stale."""
        written = Catalogue(expected_version + 1, products, update_ms=now_ms, updated_by=caller)
        config = convert.catalogue_to_pb(written)
        change = pb.PricingConfigChange(
            version=written.version, change_time=config.update_time, changed_by=caller, config=config
        )
        terms = pb.PricingConfig(version=expected_version, products=config.products)
        fingerprint = hashlib.sha256(terms.SerializeToString(deterministic=True)).hexdigest()
        status, payload = await self._update(
            keys=[CONFIG_KEY, CHANGES_KEY, REQUESTS_KEY],
            args=[
                request_id,
                fingerprint,
                expected_version,
                config.SerializeToString(deterministic=True),
                change.SerializeToString(deterministic=True),
            ],
        )
        if status == b"CONFIG_VERSION_MISMATCH":
            raise ConfigVersionMismatch(
                f"the config is at version {payload.decode()}, not {expected_version}",
                metadata={"current_version": payload.decode()},
            )
        if status != b"OK":
            raise BY_REASON[status.decode()]()
        return pb.PricingConfigChange.FromString(payload)

    async def changes(self, newest_version: int, count: int) -> list[pb.PricingConfigChange]:
        """Audit entries `newest_version`, `newest_version - 1`, ... down to version 1."""
        versions = list(range(newest_version, max(newest_version - count, 0), -1))
        if not versions:
            return []
        raws = await self._redis.hmget(CHANGES_KEY, versions)
        return [pb.PricingConfigChange.FromString(raw) for raw in raws if raw is not None]
