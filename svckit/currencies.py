"""ISO 4217 currencies from the maintained `iso4217` table: which codes exist, their minor-unit exponents."""

from __future__ import annotations

from functools import cache

import iso4217


@cache
def minor_exponent(code: str) -> int | None:
    """Digits after the decimal point (USD 2, JPY 0, BHD 3); None for unknown codes and for codes
    with no minor unit at all (metals, funds, XXX/XTS), which cannot carry money here."""
    try:
        return iso4217.Currency(code).exponent
    except ValueError:
        return None


def is_money_currency(code: str) -> bool:
    return minor_exponent(code) is not None
