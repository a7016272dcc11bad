"""The versioned pricing config (the catalogue) in Redis: its version, compare-and-set update, audit trail.

Keys, all under the hash tag `{config}` so the update script runs on one Cluster slot:
  pricing:{config}                hash    version, config (PricingConfig bytes); absent = version 0, the
                                          built-in default; no TTL
  pricing:{config}:changes        hash    version -> PricingConfigChange bytes, the audit trail; no TTL
  pricing:{config}:req:<req_id>   string  "fingerprint:version" of one update; TTL `request_ttl_ms`
"""

from __future__ import annotations

import hashlib

from pricing.v1 import pricing_service_pb2 as pb

from pricing_svc import convert
from pricing_svc.catalogue import DEFAULT_CATALOGUE, Catalogue, ConfigChange, Product
from pricing_svc.errors import ConfigVersionMismatch
from pricing_svc.script_reply import decode
from svckit.redis_client import RedisClient, Script, tagged_key

CONFIG_KEY = tagged_key("pricing", "config")
CHANGES_KEY = tagged_key("pricing", "config", "changes")


def request_key(request_id: str) -> str:
    return tagged_key("pricing", "config", "req", request_id)


class CatalogueStore:
    def __init__(self, redis: RedisClient, update_script: Script, *, request_ttl_ms: int) -> None:
        self._redis = redis
        self._update = update_script
        self._request_ttl_ms = request_ttl_ms

    async def version(self) -> int:
        """One small read: what a replica polls to notice a change."""
        return int(await self._redis.hget(CONFIG_KEY, "version") or 0)

    async def load(self) -> Catalogue:
        raw = await self._redis.hget(CONFIG_KEY, "config")
        if raw is None:
            return DEFAULT_CATALOGUE
        return convert.catalogue_from_pb(pb.PricingConfig.FromString(_as_bytes(raw)))

    async def update(
        self,
        products: tuple[Product, ...],
        *,
        expected_version: int,
        request_id: str,
        caller: str,
        now_ms: int,
    ) -> Catalogue:
        """Writes version `expected_version + 1`; raises ConfigVersionMismatch if it is stale."""
        written = Catalogue(expected_version + 1, products, update_ms=now_ms, updated_by=caller)
        change = convert.change_to_pb(ConfigChange(written, change_ms=now_ms, changed_by=caller))
        config = change.config
        terms = pb.PricingConfig(version=expected_version, products=config.products)
        fingerprint = hashlib.sha256(terms.SerializeToString(deterministic=True)).hexdigest()
        reply = await self._update(
            keys=[CONFIG_KEY, CHANGES_KEY, request_key(request_id)],
            args=[
                fingerprint,
                expected_version,
                config.SerializeToString(deterministic=True),
                change.SerializeToString(deterministic=True),
                self._request_ttl_ms,
            ],
        )
        try:
            first = pb.PricingConfigChange.FromString(decode(reply).raw("change"))
        except ConfigVersionMismatch as stale:
            current = stale.metadata["current_version"]
            message = f"the config is at version {current}, not {expected_version}"
            raise ConfigVersionMismatch(message, metadata=stale.metadata) from None
        return convert.catalogue_from_pb(first.config)

    async def changes(self, newest_version: int, count: int) -> list[ConfigChange]:
        """Audit entries `newest_version`, `newest_version - 1`, ... down to version 1."""
        versions = list(range(newest_version, max(newest_version - count, 0), -1))
        if not versions:
            return []
        raws = await self._redis.hmget(CHANGES_KEY, versions)
        return [
            convert.change_from_pb(pb.PricingConfigChange.FromString(_as_bytes(raw)))
            for raw in raws
            if raw is not None
        ]


def _as_bytes(raw: bytes | str) -> bytes:
    """This store's client returns bytes; redis-py's type allows str for decoding clients."""
    return raw if isinstance(raw, bytes) else raw.encode()
