"""The names Checkout shows for products: the catalogue's display names, read once per config version."""

from __future__ import annotations

from payment_svc.ports import Catalogue


class ProductNames:
    """A product the catalogue gives no name is shown by its id."""

    def __init__(self, catalogue: Catalogue) -> None:
        self._catalogue = catalogue
        self._names: tuple[int, dict[str, str]] = (-1, {})  # (config version, product id -> display name)

    async def display_name(self, product_id: str, config_version: int) -> str:
        version, names = self._names
        if version != config_version:
            config = await self._catalogue.get_pricing_config()
            names = {p.product_id: p.display_name for p in config.products}
            self._names = (config.version, names)
        return names.get(product_id) or product_id
