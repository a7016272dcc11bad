"""The in-process copy of the pricing config that quotes read, so the hot path never touches Redis.

A background task polls the config version every `refresh_ms` and reloads on a change, so a price
changed on another replica is served here within `refresh_ms` plus two Redis round trips. A change
made through this process is installed at once. While Redis is unreachable the last config stays
in use; until the first load succeeds, quotes load it themselves (and fail UNAVAILABLE if they can't).
"""

from __future__ import annotations

import asyncio
import logging

from pricing_svc.catalogue import Catalogue
from pricing_svc.config_store import ConfigStore
from svckit.server import cancel_and_wait

log = logging.getLogger("pricing.config")


class ConfigCache:
    def __init__(self, store: ConfigStore, *, refresh_ms: int) -> None:
        self._store = store
        self._refresh_s = refresh_ms / 1000
        self._catalogue: Catalogue | None = None
        # Serialises installs, so a refresh that read an older version can't overwrite a newer local write.
        self._lock = asyncio.Lock()
        self._task: asyncio.Task | None = None

    async def current(self) -> Catalogue:
        if self._catalogue is None:
            await self.refresh()
        assert self._catalogue is not None
        return self._catalogue

    async def refresh(self) -> None:
        """Reloads if Redis holds another version; Redis is the truth, even if it went back."""
        async with self._lock:
            version = await self._store.version()
            if self._catalogue is None or self._catalogue.version != version:
                self._catalogue = await self._store.load()

    async def install(self, catalogue: Catalogue) -> None:
        """Takes a config this process just wrote, unless a newer one is already here."""
        async with self._lock:
            if self._catalogue is None or self._catalogue.version < catalogue.version:
                self._catalogue = catalogue

    async def start(self) -> None:
        self._task = asyncio.create_task(self._poll(), name="pricing-config-refresh")

    async def stop(self) -> None:
        if self._task is not None:
            await cancel_and_wait([self._task])

    async def _poll(self) -> None:
        while True:
            try:
                await self.refresh()
            except Exception as exc:  # keep serving the last config; the next tick retries
                log.warning("pricing config refresh failed: %s", exc)
            await asyncio.sleep(self._refresh_s)
