"""Maps pricing.v1 messages to domain objects and back; times are kept in epoch milliseconds."""

from __future__ import annotations

from collections.abc import Iterable
from typing import cast

from pricing.v1 import pricing_service_pb2 as pb

from pricing_svc.catalogue import Catalogue, ConfigChange, Product, Sale
from pricing_svc.codes import FIXED, PERCENT, CodeState, DiscountCode, Reservation
from pricing_svc.quotes import Quote
from svckit.errors import Violations
from svckit.timestamps import ms_from_timestamp, timestamp_from_ms

_KIND_TO_PB = {PERCENT: pb.DISCOUNT_KIND_PERCENT, FIXED: pb.DISCOUNT_KIND_FIXED}
_KIND_FROM_PB = {v: k for k, v in _KIND_TO_PB.items()}


def _ms(message, name: str) -> int:
    """A stored Timestamp in ms; unset is 0, which every domain type reads as "no bound"."""
    return getattr(message, name).ToMilliseconds() if message.HasField(name) else 0


def _checked_ms(message, name: str, v: Violations, at: str) -> int:
    """A request's Timestamp in ms, or 0 and a violation of field `at + name` if out of range."""
    return ms_from_timestamp(v, getattr(message, name), at + name) if message.HasField(name) else 0


def products_from_pb(products: Iterable[pb.Product]) -> tuple[Product, ...]:
    """Raises InvalidArgument for timestamps out of range; the domain checks everything else."""
    v = Violations()
    converted = tuple(_product_from_pb(p, v, f"products[{i}].") for i, p in enumerate(products))
    v.raise_if_any()
    return converted


def _product_from_pb(p: pb.Product, v: Violations, at: str = "") -> Product:
    sale = None
    if p.HasField("sale"):
        which = p.sale.WhichOneof("price")
        sale = Sale(
            sale_price_minor=p.sale.sale_price_minor if which == "sale_price_minor" else None,
            percent_off_list=p.sale.percent_off_list if which == "percent_off_list" else None,
            start_ms=_checked_ms(p.sale, "start_time", v, at + "sale."),
            end_ms=_checked_ms(p.sale, "end_time", v, at + "sale."),
        )
    return Product(
        product_id=p.product_id,
        display_name=p.display_name,
        currency=p.currency,
        list_price_minor=p.list_price_minor,
        launch_price_minor=p.launch_price_minor,
        base_mode=p.base_mode,
        sale=sale,
    )


def product_to_pb(p: Product) -> pb.Product:
    sale = None
    if p.sale is not None:
        sale = pb.Sale(
            sale_price_minor=p.sale.sale_price_minor,
            percent_off_list=p.sale.percent_off_list,
            start_time=timestamp_from_ms(p.sale.start_ms),
            end_time=timestamp_from_ms(p.sale.end_ms),
        )
    return pb.Product(
        product_id=p.product_id,
        display_name=p.display_name,
        currency=p.currency,
        list_price_minor=p.list_price_minor,
        launch_price_minor=p.launch_price_minor,
        base_mode=cast(pb.PricingMode, p.base_mode),
        sale=sale,
    )


def catalogue_from_pb(config: pb.PricingConfig) -> Catalogue:
    return Catalogue(
        version=config.version,
        products=products_from_pb(config.products),
        update_ms=_ms(config, "update_time"),
        updated_by=config.updated_by,
    )


def catalogue_to_pb(catalogue: Catalogue) -> pb.PricingConfig:
    return pb.PricingConfig(
        version=catalogue.version,
        products=[product_to_pb(p) for p in catalogue.products],
        update_time=timestamp_from_ms(catalogue.update_ms),
        updated_by=catalogue.updated_by,
    )


def code_from_pb(c: pb.DiscountCode) -> DiscountCode:
    """The definition to create, as typed; output-only fields are ignored. Raises InvalidArgument
    for timestamps out of range; the domain checks everything else."""
    v = Violations()
    definition = DiscountCode(
        code=c.code,
        kind=_KIND_FROM_PB.get(c.kind, ""),
        percent_off=c.percent_off,
        amount_off_minor=c.amount_off_minor,
        currency=c.currency,
        start_ms=_checked_ms(c, "start_time", v, "discount_code."),
        end_ms=_checked_ms(c, "end_time", v, "discount_code."),
        max_redemptions=c.max_redemptions,
        max_per_account=c.max_per_account,
        product_ids=tuple(c.product_ids),
        min_price_minor=c.min_price_minor,
        stacks_with_sale=c.stacks_with_sale,
    )
    v.raise_if_any()
    return definition


def change_from_pb(c: pb.PricingConfigChange) -> ConfigChange:
    return ConfigChange(catalogue_from_pb(c.config), _ms(c, "change_time"), c.changed_by)


def change_to_pb(c: ConfigChange) -> pb.PricingConfigChange:
    config = catalogue_to_pb(c.catalogue)
    return pb.PricingConfigChange(
        version=c.catalogue.version,
        change_time=timestamp_from_ms(c.change_ms),
        changed_by=c.changed_by,
        config=config,
    )


def code_state_to_pb(state: CodeState) -> pb.DiscountCode:
    d = state.definition
    return pb.DiscountCode(
        code=d.code,
        kind=_KIND_TO_PB[d.kind],
        percent_off=d.percent_off,
        amount_off_minor=d.amount_off_minor,
        currency=d.currency,
        start_time=timestamp_from_ms(d.start_ms),
        end_time=timestamp_from_ms(d.end_ms),
        max_redemptions=d.max_redemptions,
        max_per_account=d.max_per_account,
        product_ids=d.product_ids,
        min_price_minor=d.min_price_minor,
        stacks_with_sale=d.stacks_with_sale,
        disabled=state.disabled,
        reserved_count=state.reserved_count,
        redeemed_count=state.redeemed_count,
        create_time=timestamp_from_ms(d.create_ms),
    )


def reservation_to_pb(r: Reservation) -> pb.Reservation:
    return pb.Reservation(
        code=r.code,
        order_id=r.order_id,
        account_id=r.account_id,
        status=f"RESERVATION_STATUS_{r.status.value}",
        expire_time=timestamp_from_ms(r.expire_ms),
    )


def quote_to_pb(q: Quote) -> pb.Quote:
    return pb.Quote(
        product_id=q.product_id,
        currency=q.currency,
        list_price_minor=q.list_price_minor,
        mode=cast(pb.PricingMode, q.mode),
        mode_price_minor=q.mode_price_minor,
        discount_code=q.discount_code,
        code_discount_minor=q.code_discount_minor,
        final_amount_minor=q.final_amount_minor,
        config_version=q.config_version,
        code_not_applied_reason=q.code_not_applied_reason,
        quote_time=timestamp_from_ms(q.quote_ms),
    )
