"""Price arithmetic in integer minor units: percent rounding, discount caps and the minimum charge.

The rules, in one place:
  * A percent of a price is `(price * percent + 50) // 100`: the discount is rounded half up to
    the cent (10 % of 2999 is 299.9 -> 300, so 2999 becomes 2699; 10 % of 2995 is 299.5 -> 300).
  * A fixed discount is capped at the price, so a price never goes negative.
  * A final amount above zero but below the currency's minimum charge (Stripe's: 50 for USD) is
    raised to that minimum and the discount shrinks to match; it is never raised above the
    undiscounted price. A final amount of zero is a free order.
"""

from __future__ import annotations

# Stripe's minimum charge per currency, in minor units; it is also the list of currencies the
# catalogue accepts, since a price Stripe cannot charge is useless. JPY has no minor unit.
MIN_CHARGE_MINOR: dict[str, int] = {
    "USD": 50,
    "EUR": 50,
    "GBP": 30,
    "CAD": 50,
    "AUD": 50,
    "NZD": 50,
    "CHF": 50,
    "SGD": 50,
    "JPY": 50,
}


def percent_of(price_minor: int, percent: int) -> int:
    """`percent` % of a price, rounded half up to the minor unit."""
    return (price_minor * percent + 50) // 100


def discount_minor(price_minor: int, *, percent_off: int = 0, amount_off_minor: int = 0) -> int:
    """What a percent or fixed discount takes off a price; never more than the price."""
    return min(price_minor, percent_of(price_minor, percent_off) + amount_off_minor)


def charge_minor(price_minor: int, discount: int, currency: str) -> int:
    """What the buyer pays for `price_minor` less `discount`, after the minimum-charge rule."""
    final = price_minor - min(discount, price_minor)
    if 0 < final < MIN_CHARGE_MINOR[currency]:
        return min(price_minor, MIN_CHARGE_MINOR[currency])
    return final
