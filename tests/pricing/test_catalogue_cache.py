"""The in-process catalogue: readers and local writes never wait on the background refresher."""

from __future__ import annotations

import asyncio

from pricing_svc.catalogue import DEFAULT_CATALOGUE, Catalogue
from pricing_svc.catalogue_cache import CatalogueCache


class StalledStore:
    """Stands in for Redis that accepts a command and never answers (SIGSTOP, a network stall)."""

    def __init__(self) -> None:
        self.stalled = asyncio.Event()
        self.answer = asyncio.Event()
        self.catalogue = DEFAULT_CATALOGUE

    async def version(self) -> int:
        self.stalled.set()
        await self.answer.wait()
        return self.catalogue.version

    async def load(self) -> Catalogue:
        self.stalled.set()
        await self.answer.wait()
        return self.catalogue


async def test_a_stalled_refresh_holds_up_no_reader_and_no_local_write():
    store = StalledStore()
    store.answer.set()
    cache = CatalogueCache(store, refresh_ms=1000)  # type: ignore[arg-type]
    await cache.current()
    store.answer.clear()
    store.stalled.clear()
    refresh = asyncio.create_task(cache.refresh())
    await store.stalled.wait()

    written = Catalogue(1, DEFAULT_CATALOGUE.products)
    cache.install(written)  # synchronous: there is no lock to wait for
    assert await asyncio.wait_for(cache.current(), timeout=60) is written
    refresh.cancel()


async def test_a_load_that_began_before_a_local_write_does_not_undo_it():
    store = StalledStore()
    cache = CatalogueCache(store, refresh_ms=1000)  # type: ignore[arg-type]
    loading = asyncio.create_task(cache.load())
    await store.stalled.wait()
    written = Catalogue(1, DEFAULT_CATALOGUE.products)
    cache.install(written)
    store.answer.set()  # the stale load (version 0) now completes
    await loading
    assert await cache.current() is written
