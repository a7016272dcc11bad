"""update_config.lua run directly against a real Redis (single and Cluster), refusals included."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from redis.exceptions import ResponseError

from pricing_svc.catalogue import DEFAULT_CATALOGUE
from pricing_svc.catalogue_store import CHANGES_KEY, CONFIG_KEY, CatalogueStore, request_key
from pricing_svc.errors import ConfigVersionMismatch
from pricing_svc.settings import Settings
from svckit.errors import RequestIdReused
from svckit.redis_client import connect, register_scripts, script_pipe
from tests.conftest import base_settings

NOW = 1_800_000_000_000
PRODUCTS = DEFAULT_CATALOGUE.products


@pytest.fixture
async def store(any_redis) -> AsyncIterator[CatalogueStore]:
    redis = connect(Settings(**base_settings(**any_redis)))
    pipe = script_pipe(redis)
    script = register_scripts(redis, "pricing_svc", pipe)["update_config"]
    yield CatalogueStore(redis, script, request_ttl_ms=60_000)
    if pipe is not None:
        await pipe.aclose()
    await redis.aclose()


async def _update(store: CatalogueStore, expected_version: int, request_id: str, caller: str = "ops"):
    return await store.update(
        PRODUCTS, expected_version=expected_version, request_id=request_id, caller=caller, now_ms=NOW
    )


async def test_an_update_writes_the_next_version_and_its_audit_entry(store: CatalogueStore):
    written = await _update(store, 0, "u-1")
    assert (written.version, await store.version(), await store.load()) == (1, 1, written)
    assert [c.catalogue for c in await store.changes(1, 10)] == [written]


async def test_a_stale_version_is_refused_with_the_current_one(store: CatalogueStore):
    await _update(store, 0, "u-1")
    with pytest.raises(ConfigVersionMismatch) as refused:
        await _update(store, 0, "u-2")
    assert refused.value.metadata == {"current_version": "1"}
    assert await store.version() == 1


async def test_a_repeated_request_id_replays_or_is_refused_if_its_terms_differ(store: CatalogueStore):
    first = await _update(store, 0, "u-1")
    await _update(store, 1, "u-2")
    assert await _update(store, 0, "u-1") == first
    with pytest.raises(RequestIdReused):
        await _update(store, 1, "u-1")
    assert await store.version() == 2


async def test_malformed_arguments_write_nothing(store: CatalogueStore):
    script = store._update
    keys = [CONFIG_KEY, CHANGES_KEY, request_key("x")]
    for args in (
        ["fp", -1, b"c", b"ch", 1000],
        ["fp", "one", b"c", b"ch", 1000],
        ["fp", 0, b"", b"ch", 1000],
    ):
        with pytest.raises(ResponseError, match="malformed arguments"):
            await script(keys=keys, args=args)
    assert await store.version() == 0
