"""Price arithmetic in integer minor units: percent rounding, discount caps and the minimum charge.

The rules, in one place:
  * A percent of a price is `(price * percent + 50) // 100`: the discount is rounded half up to
    the minor unit (10 % of 2999 is 299.9 -> 300, so 2999 becomes 2699; 10 % of 2995 is 299.5 -> 300).
  * A fixed discount is capped at the price, so a price never goes negative.
  * A final amount above zero but below the currency's minimum charge (Stripe's: 0.50 USD is 50,
    50 JPY is 50 since JPY has no minor unit) is raised to that minimum and the discount shrinks to
    match; it is never raised above the undiscounted price. A final amount of zero is a free order.
"""

from __future__ import annotations

from decimal import Decimal

from svckit.currencies import minor_exponent

# Stripe's published minimum charge per currency, in major units; the catalogue accepts exactly
# these currencies, since a price Stripe cannot charge is useless and for any other currency
# Stripe's minimum depends on the day's exchange rate.
_MIN_CHARGE_MAJOR: dict[str, Decimal] = {
    "USD": Decimal("0.50"),
    "AED": Decimal("2.00"),
    "AUD": Decimal("0.50"),
    "BRL": Decimal("0.50"),
    "CAD": Decimal("0.50"),
    "CHF": Decimal("0.50"),
    "CZK": Decimal("15.00"),
    "DKK": Decimal("2.50"),
    "EUR": Decimal("0.50"),
    "GBP": Decimal("0.30"),
    "HKD": Decimal("4.00"),
    "HUF": Decimal("175.00"),
    "INR": Decimal("0.50"),
    "JPY": Decimal("50"),
    "MXN": Decimal("10"),
    "MYR": Decimal("2"),
    "NOK": Decimal("3.00"),
    "NZD": Decimal("0.50"),
    "PLN": Decimal("2.00"),
    "RON": Decimal("2.00"),
    "SEK": Decimal("3.00"),
    "SGD": Decimal("0.50"),
    "THB": Decimal("10"),
}

PRICED_CURRENCIES = tuple(sorted(_MIN_CHARGE_MAJOR))


def min_charge_minor(currency: str) -> int | None:
    """Stripe's minimum charge in the currency's minor units; None where it is unknown."""
    exponent = minor_exponent(currency)
    if exponent is None or currency not in _MIN_CHARGE_MAJOR:
        return None
    return int(_MIN_CHARGE_MAJOR[currency].scaleb(exponent))


def display(amount_minor: int, currency: str) -> str:
    """`2999, "USD"` -> "29.99 USD"; `50, "JPY"` -> "50 JPY"."""
    exponent = minor_exponent(currency) or 0
    return f"{Decimal(amount_minor).scaleb(-exponent):.{exponent}f} {currency}"


def percent_of(price_minor: int, percent: int) -> int:
    """`percent` % of a price, rounded half up to the minor unit."""
    return (price_minor * percent + 50) // 100


def discount_minor(price_minor: int, *, percent_off: int = 0, amount_off_minor: int = 0) -> int:
    """What a percent or fixed discount takes off a price; never more than the price."""
    return min(price_minor, percent_of(price_minor, percent_off) + amount_off_minor)


def charge_minor(price_minor: int, discount: int, currency: str) -> int:
    """What the buyer pays for `price_minor` less `discount`, after the minimum-charge rule."""
    final = price_minor - min(discount, price_minor)
    floor = min_charge_minor(currency) or 0
    if 0 < final < floor:
        return min(price_minor, floor)
    return final
