"""The declared money rules: half-up percent rounding, capped fixed discounts, the minimum charge."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pricing_svc import money


@pytest.mark.parametrize(
    "price, percent, expected",
    [
        (2999, 10, 300),  # 299.9 -> 300
        (2995, 10, 300),  # 299.5 -> 300: half goes up
        (2994, 10, 299),  # 299.4 -> 299
        (4999, 50, 2500),  # 2499.5 -> 2500
        (4999, 100, 4999),
        (1, 49, 0),
        (1, 50, 1),
    ],
)
def test_percent_of_rounds_half_up_on_the_discount(price, percent, expected):
    assert money.percent_of(price, percent) == expected


@given(
    price=st.integers(min_value=50, max_value=10**12),
    percent_off=st.integers(min_value=0, max_value=100),
    amount_off=st.integers(min_value=0, max_value=10**12),
    currency=st.sampled_from(money.PRICED_CURRENCIES),
)
@settings(max_examples=300, deadline=None)
def test_a_charge_is_free_or_between_the_minimum_and_the_price(price, percent_off, amount_off, currency):
    off = money.discount_minor(price, percent_off=percent_off, amount_off_minor=amount_off)
    final = money.charge_minor(price, off, currency)
    assert 0 <= off <= price
    assert final == 0 or min(money.min_charge_minor(currency), price) <= final <= price
    assert final == 0 or final >= price - off  # the minimum charge only ever shrinks a discount
    assert (final == 0) == (off == price)


def test_a_final_amount_below_the_minimum_charge_is_raised_to_it():
    assert money.charge_minor(2999, 2970, "USD") == 50
    assert money.charge_minor(2999, 2999, "USD") == 0
    assert money.charge_minor(2999, 10**6, "USD") == 0
    assert money.charge_minor(2999, 2949, "USD") == 50
    assert money.charge_minor(2999, 2948, "USD") == 51


def test_minimum_charges_follow_each_currencys_minor_unit():
    assert {c: money.min_charge_minor(c) for c in ("USD", "GBP", "JPY", "HUF")} == {
        "USD": 50,  # 0.50 USD in cents
        "GBP": 30,
        "JPY": 50,  # JPY has no minor unit: 50 yen
        "HUF": 17500,  # 175.00 HUF in fillér
    }
    assert money.charge_minor(5000, 4990, "JPY") == 50
    assert money.min_charge_minor("ZZZ") is None  # not ISO 4217
    assert money.min_charge_minor("XAU") is None  # no minor unit: gold is not money here


def test_amounts_display_in_major_units_of_their_currency():
    assert [money.display(2999, c) for c in ("USD", "JPY", "BHD")] == ["29.99 USD", "2999 JPY", "2.999 BHD"]
