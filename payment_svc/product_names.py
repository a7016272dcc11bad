"""The names Checkout shows for products: the catalogue's display names, read once per config version."""

from __future__ import annotations

from payment_svc.ports import Catalogue


class ProductNames:
    """Reading the catalogue is an admin call: without an admin token (`catalogue` None) a product is
    shown by its id, as it is when the catalogue gives it no name."""

    def __init__(self, catalogue: Catalogue | None) -> None:
        self._catalogue = catalogue
        self._names: tuple[int, dict[str, str]] = (-1, {})  # (config version, product id -> display name)

    async def display_name(self, product_id: str, config_version: int) -> str:
        if self._catalogue is None:
            return product_id
        version, names = self._names
        if version != config_version:
            config = await self._catalogue.get_pricing_config()
            names = {p.product_id: p.display_name for p in config.products}
            self._names = (config.version, names)
        return names.get(product_id) or product_id
