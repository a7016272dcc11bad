"""A quote: a product's price at an instant, with the stacking rule for an optional discount code.

Stacking: in LAUNCH mode a code applies to the launch price, in RRP mode to the list price. In
SALE mode it applies to the sale price only if the code `stacks_with_sale`; otherwise the buyer
pays the lower of the sale price and the list price with the code. A code that would not lower
the price is not applied (DISCOUNT_CODE_NOT_APPLICABLE), so no redemption is spent on it.
Rounding and the minimum charge are money.py's.
"""

from __future__ import annotations

from dataclasses import dataclass

from pricing_svc import money
from pricing_svc.catalogue import Mode, Product
from pricing_svc.codes import DiscountCode
from pricing_svc.errors import ErrorReason


@dataclass(frozen=True)
class Quote:
    product_id: str
    currency: str
    list_price_minor: int
    mode: Mode
    mode_price_minor: int
    discount_code: str
    code_discount_minor: int
    final_amount_minor: int
    config_version: int
    code_not_applied_reason: str
    quote_ms: int


def price(
    product: Product,
    *,
    config_version: int,
    now_ms: int,
    code: DiscountCode | None = None,
    code_not_applied_reason: str = "",
) -> Quote:
    """Prices `product` at `now_ms`; `code` is one that passed its checks, or None."""
    mode, mode_price = product.price_at(now_ms)
    final, applied, reason = mode_price, "", code_not_applied_reason
    if code is not None:
        with_code = _with_code(product, mode, mode_price, code)
        if with_code is None:
            reason = ErrorReason.DISCOUNT_CODE_NOT_APPLICABLE
        else:
            final, applied = with_code, code.code
    return Quote(
        product_id=product.product_id,
        currency=product.currency,
        list_price_minor=product.list_price_minor,
        mode=mode,
        mode_price_minor=mode_price,
        discount_code=applied,
        code_discount_minor=mode_price - final,
        final_amount_minor=final,
        config_version=config_version,
        code_not_applied_reason=reason,
        quote_ms=now_ms,
    )


def code_refusal(code: DiscountCode, product: Product, now_ms: int) -> ErrorReason | None:
    """Why the code's terms rule it out for `product` now (window, products, currency, minimum
    price, or it would not lower the price), or None; its counts are the store's to check."""
    mode, mode_price = product.price_at(now_ms)
    refusal = code.terms_refusal(product, mode_price, now_ms)
    if refusal is None and _with_code(product, mode, mode_price, code) is None:
        return ErrorReason.DISCOUNT_CODE_NOT_APPLICABLE
    return refusal


def _with_code(product: Product, mode: Mode, mode_price: int, code: DiscountCode) -> int | None:
    """What the buyer pays with the code, or None if that is not below the mode price."""
    base = mode_price
    if mode == Mode.SALE and not code.stacks_with_sale:
        base = product.list_price_minor
    off = money.discount_minor(base, percent_off=code.percent_off, amount_off_minor=code.amount_off_minor)
    with_code = money.charge_minor(base, off, product.currency)
    return with_code if with_code < mode_price else None
