"""The product catalogue: products, their modes and sale windows, validation and the built-in default."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import IntEnum

from pricing_svc import money
from pricing_svc.errors import ProductNotFound
from svckit.errors import Violations
from svckit.validation import MAX_AMOUNT_MINOR, check_text

PRODUCT_ID_RE = re.compile(r"[a-z0-9_-]{1,64}")
MAX_PRODUCTS = 1000
MAX_DISPLAY_NAME = 200


class Mode(IntEnum):
    """Mirrors pricing.v1.PricingMode by value."""

    UNSPECIFIED = 0
    LAUNCH = 1
    RRP = 2
    SALE = 3


@dataclass(frozen=True)
class Sale:
    """Exactly one of `sale_price_minor` and `percent_off_list` is set; 0 ms means an open end."""

    sale_price_minor: int | None = None
    percent_off_list: int | None = None
    start_ms: int = 0
    end_ms: int = 0

    def is_open(self, now_ms: int) -> bool:
        return (not self.start_ms or self.start_ms <= now_ms) and (not self.end_ms or now_ms < self.end_ms)

    def price_minor(self, list_price_minor: int) -> int:
        if self.sale_price_minor is not None:
            return self.sale_price_minor
        return list_price_minor - money.percent_of(list_price_minor, self.percent_off_list or 0)


@dataclass(frozen=True)
class Product:
    product_id: str
    display_name: str
    currency: str
    list_price_minor: int
    launch_price_minor: int
    base_mode: int
    sale: Sale | None = None

    def price_at(self, now_ms: int) -> tuple[Mode, int]:
        """The effective mode and its price: SALE inside the sale window, else the base mode."""
        if self.sale is not None and self.sale.is_open(now_ms):
            return Mode.SALE, self.sale.price_minor(self.list_price_minor)
        if self.base_mode == Mode.LAUNCH:
            return Mode.LAUNCH, self.launch_price_minor
        return Mode.RRP, self.list_price_minor


@dataclass(frozen=True)
class Catalogue:
    """One version of the catalogue; version 0 is the built-in default, never written to Redis."""

    version: int
    products: tuple[Product, ...]
    update_ms: int = 0
    updated_by: str = ""
    _by_id: dict[str, Product] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_id", {p.product_id: p for p in self.products})

    def product(self, product_id: str) -> Product:
        try:
            return self._by_id[product_id]
        except KeyError:
            raise ProductNotFound(f"product {product_id!r} is not in the catalogue") from None


@dataclass(frozen=True)
class ConfigChange:
    """One audit entry: the version a change wrote, when, by whom."""

    catalogue: Catalogue
    change_ms: int
    changed_by: str


LAUNCH_PRODUCT_ID = "launch-product"

DEFAULT_CATALOGUE = Catalogue(
    version=0,
    products=(
        Product(
            product_id=LAUNCH_PRODUCT_ID,
            display_name="Launch product",
            currency="USD",
            list_price_minor=4999,
            launch_price_minor=2999,
            base_mode=Mode.LAUNCH,
        ),
    ),
)


def check_product_id(v: Violations, value: str, field: str = "product_id") -> None:
    v.check(bool(PRODUCT_ID_RE.fullmatch(value)), field, "must be 1-64 characters of [a-z0-9_-]")


def check_products(v: Violations, products: Sequence[Product]) -> None:
    """Adds a violation for every bad field, so a broken catalogue is never stored."""
    v.check(0 < len(products) <= MAX_PRODUCTS, "products", f"must hold 1 to {MAX_PRODUCTS} products")
    seen: set[str] = set()
    for i, product in enumerate(products):
        _check_product(v, product, f"products[{i}]", seen)


def _check_product(v: Violations, p: Product, at: str, seen: set[str]) -> None:
    check_product_id(v, p.product_id, f"{at}.product_id")
    v.check(p.product_id not in seen, f"{at}.product_id", f"duplicates product {p.product_id!r}")
    seen.add(p.product_id)
    check_text(v, p.display_name, f"{at}.display_name", max_chars=MAX_DISPLAY_NAME)
    v.check(p.base_mode in (Mode.LAUNCH, Mode.RRP), f"{at}.base_mode", "must be PRICING_MODE_LAUNCH or _RRP")
    floor = _min_charge(v, p.currency, f"{at}.currency")
    if floor is None:
        return  # the price checks below depend on the currency's minimum charge
    # Prices are at least the minimum charge, so the minimum-charge rule only ever shrinks a discount.
    if not floor <= p.list_price_minor <= MAX_AMOUNT_MINOR:
        v.add(f"{at}.list_price_minor", f"must be between {floor} and {MAX_AMOUNT_MINOR}")
        return  # the other prices are bounded by the list price
    v.check(
        floor <= p.launch_price_minor <= p.list_price_minor,
        f"{at}.launch_price_minor",
        f"must be between {floor} and the list price",
    )
    if p.sale is not None:
        _check_sale(v, p.sale, p.list_price_minor, floor, p.currency, f"{at}.sale")


def _min_charge(v: Violations, currency: str, field: str) -> int | None:
    """The currency's minimum charge, or None and a violation if products can't be priced in it."""
    floor = money.min_charge_minor(currency)
    if floor is None:
        known = ", ".join(money.PRICED_CURRENCIES)
        v.add(field, f"must be an ISO 4217 code with a known Stripe minimum charge, one of {known}")
    return floor


def _check_sale(v: Violations, sale: Sale, list_price_minor: int, floor: int, currency: str, at: str) -> None:
    if sale.sale_price_minor is not None:
        v.check(
            floor <= sale.sale_price_minor <= list_price_minor,
            f"{at}.sale_price_minor",
            f"must be between {floor} and the list price",
        )
    elif sale.percent_off_list is not None:
        if not 1 <= sale.percent_off_list <= 99:
            v.add(f"{at}.percent_off_list", "must be between 1 and 99")
        elif sale.price_minor(list_price_minor) < floor:
            minimum = money.display(floor, currency)
            v.add(f"{at}.percent_off_list", f"leaves a sale price below the minimum charge {minimum}")
    else:
        v.add(f"{at}.price", "set sale_price_minor or percent_off_list")
    if sale.start_ms and sale.end_ms:
        v.check(sale.start_ms < sale.end_ms, f"{at}.end_time", "must be after start_time")
