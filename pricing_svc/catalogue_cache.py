"""The in-process copy of the pricing config that quotes read, so the hot path never touches Redis.

A background task polls the config version every `refresh_ms` and reloads on a change, so a price
changed on another replica is served here within `refresh_ms` plus two Redis round trips. A change
made through this process is installed at once. While Redis is unreachable the last config stays
in use; until the first load succeeds, quotes load it themselves (and fail UNAVAILABLE if they can't).
No RPC ever waits on the refresher: there is no lock, only a check before each install.

A version lower than one this process already serves means Redis lost data (a FLUSHALL, a lost
volume, a failover to a replica without the writes): the cache reports it to the data-loss guard and
keeps serving what it holds, so capped codes and prices do not silently fall back to the built-in
launch catalogue; it takes Redis's version again only once an operator has acknowledged the loss.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from pricing_svc.catalogue import Catalogue
from pricing_svc.catalogue_store import CatalogueStore
from svckit.tasks import cancel_and_wait

LossReporter = Callable[[str, str], None]

log = logging.getLogger("pricing.config")


class CatalogueCache:
    def __init__(
        self, store: CatalogueStore, *, refresh_ms: int, report_loss: LossReporter | None = None
    ) -> None:
        self._store = store
        self._refresh_s = refresh_ms / 1000
        self._report_loss = report_loss
        self._accept_older = False  # set once an operator has acknowledged a loss
        self._catalogue: Catalogue | None = None
        # Counts installs of local writes: a load that began before one must not overwrite it.
        self._installs = 0
        self._task: asyncio.Task | None = None

    async def current(self) -> Catalogue:
        if self._catalogue is not None:
            return self._catalogue
        return await self.load()

    async def load(self) -> Catalogue:
        """What Redis holds now, kept unless a local write was installed while it loaded, or it is
        older than what this process serves (then the loss is reported and the held config served)."""
        installs = self._installs
        catalogue = await self._store.load()
        held = self._catalogue
        if held is not None and catalogue.version < held.version and not self._accept_older:
            if self._report_loss is not None:
                detail = f"Redis holds config version {catalogue.version}; this process served {held.version}"
                self._report_loss("CONFIG_VERSION_WENT_BACKWARDS", detail)
            return held
        if installs == self._installs:
            self._catalogue = catalogue
            self._accept_older = False
        return catalogue

    def accept_redis_as_it_is(self) -> None:
        """An operator acknowledged lost data: the next refresh takes Redis's version, even an older one."""
        self._accept_older = True

    async def refresh(self) -> None:
        """Reloads if Redis holds another version."""
        version = await self._store.version()
        if self._catalogue is None or self._catalogue.version != version:
            await self.load()

    def install(self, catalogue: Catalogue) -> None:
        """Takes a config this process just wrote, unless a newer one is already here."""
        if self._catalogue is None or self._catalogue.version < catalogue.version:
            self._catalogue = catalogue
            self._installs += 1

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
