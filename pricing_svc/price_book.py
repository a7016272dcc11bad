"""Quotes and the catalogue's versions: checks each request, decides, and runs it against the stores."""

from __future__ import annotations

from pricing_svc import quotes
from pricing_svc.catalogue import Catalogue, ConfigChange, Product, check_product_id, check_products
from pricing_svc.catalogue_cache import CatalogueCache
from pricing_svc.catalogue_store import CatalogueStore
from pricing_svc.code_store import CodeStore
from pricing_svc.codes import DiscountCode, normalize
from pricing_svc.errors import DiscountCodeNotFound, ErrorReason
from svckit.clock import Clock
from svckit.errors import Violations
from svckit.paging import Paging
from svckit.validation import check_account_id, check_request_id, check_text

# `expected_version + 1` must still be an int64: the version a write creates.
MAX_EXPECTED_VERSION = 2**63 - 2
MAX_CALLER_CHARS = 128
CHANGES_PAGING = Paging("pricing.v1.changes", default_size=20, max_size=100)


class PriceBook:
    def __init__(self, cache: CatalogueCache, store: CatalogueStore, codes: CodeStore, clock: Clock) -> None:
        self._cache = cache
        self._store = store
        self._codes = codes
        self._clock = clock

    async def quote(self, product_id: str, code_typed: str, account_id: str) -> quotes.Quote:
        """The product's price now; a code that can't apply leaves it undiscounted and says why."""
        v = Violations()
        check_product_id(v, product_id)
        code = normalize(v, code_typed, "discount_code") if code_typed else ""
        if account_id:
            check_account_id(v, account_id)
        v.raise_if_any()
        now = self._clock.now_ms()
        catalogue = await self._cache.current()
        product = catalogue.product(product_id)
        usable, refusal = None, ""
        if code:
            usable, refusal = await self._usable_code(code, account_id, product, now)
        return quotes.price(
            product,
            config_version=catalogue.version,
            now_ms=now,
            code=usable,
            code_not_applied_reason=refusal,
        )

    async def _usable_code(
        self, code: str, account_id: str, product: Product, now_ms: int
    ) -> tuple[DiscountCode | None, str]:
        """The code if it may apply now; else None and the first reason, in the documented order:
        disabled, its terms (window, products, price), then its counts (caps)."""
        try:
            state = await self._codes.get(code, now_ms=now_ms, account_id=account_id)
        except DiscountCodeNotFound as err:
            return None, err.reason
        refusal = (
            (ErrorReason.DISCOUNT_CODE_DISABLED if state.disabled else None)
            or quotes.code_refusal(state.definition, product, now_ms)
            or state.state_refusal(account_id)
        )
        return (None, refusal) if refusal else (state.definition, "")

    async def product(self, product_id: str) -> Product:
        return (await self._cache.current()).product(product_id)

    async def config(self) -> Catalogue:
        """What Redis holds now, not what this replica cached; it never waits on the refresher."""
        return await self._cache.load()

    async def update_config(
        self, products: tuple[Product, ...], expected_version: int, request_id: str, caller: str
    ) -> Catalogue:
        v = Violations()
        check_request_id(v, request_id)
        v.check(
            0 <= expected_version <= MAX_EXPECTED_VERSION,
            "expected_version",
            f"must be between 0 and {MAX_EXPECTED_VERSION}",
        )
        check_text(v, caller, "caller", max_chars=MAX_CALLER_CHARS)
        check_products(v, products)
        v.raise_if_any()
        written = await self._store.update(
            products,
            expected_version=expected_version,
            request_id=request_id,
            caller=caller,
            now_ms=self._clock.now_ms(),
        )
        self._cache.install(written)
        return written

    async def config_changes(self, page_size: int, page_token: str) -> tuple[list[ConfigChange], str]:
        """A page of the audit trail, newest first, and the next page's token ('' after the last)."""
        v = Violations()
        size = CHANGES_PAGING.page_size(v, page_size)
        position = CHANGES_PAGING.decode_token(v, page_token)
        v.check(position == "" or position.isdigit(), "page_token", "is not a token from a previous response")
        v.raise_if_any()
        newest = int(position) if position else await self._store.version()
        changes = await self._store.changes(newest, size)
        next_version = newest - size
        return changes, CHANGES_PAGING.encode_token(str(next_version)) if next_version > 0 else ""
