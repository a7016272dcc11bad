"""Quotes through the gRPC API: every mode x code kind x stacking case, to the cent."""

from __future__ import annotations

import grpc
from pricing.v1 import pricing_service_pb2 as pb

from tests.pricing.support import Pricing, fails_with, product, ts

LAUNCH, RRP, SALE = pb.PRICING_MODE_LAUNCH, pb.PRICING_MODE_RRP, pb.PRICING_MODE_SALE
PERCENT, FIXED = pb.DISCOUNT_KIND_PERCENT, pb.DISCOUNT_KIND_FIXED
NOT_APPLICABLE = "DISCOUNT_CODE_NOT_APPLICABLE"

CATALOGUE = (
    product("launch-product"),
    product("rrp-product", mode=RRP),
    product("sale-product", sale=pb.Sale(sale_price_minor=3499)),
    product("sale-pct-product", mode=RRP, sale=pb.Sale(percent_off_list=20)),  # 4999 - 1000 = 3999
)

CODES = {
    "PCT10": dict(kind=PERCENT, percent_off=10),
    "PCT10STACK": dict(kind=PERCENT, percent_off=10, stacks_with_sale=True),
    "PCT50": dict(kind=PERCENT, percent_off=50),
    "PCT99": dict(kind=PERCENT, percent_off=99),
    "FREE": dict(kind=PERCENT, percent_off=100),
    "FIX500": dict(kind=FIXED, amount_off_minor=500, currency="USD"),
    "FIX500STACK": dict(kind=FIXED, amount_off_minor=500, currency="USD", stacks_with_sale=True),
    "FIX2970": dict(kind=FIXED, amount_off_minor=2970, currency="USD"),
    "FIX5000": dict(kind=FIXED, amount_off_minor=5000, currency="USD"),
}

# (product, code) -> (mode, mode price, code applied, code discount, final, reason not applied)
TABLE = {
    ("launch-product", ""): (LAUNCH, 2999, "", 0, 2999, ""),
    ("rrp-product", ""): (RRP, 4999, "", 0, 4999, ""),
    ("sale-product", ""): (SALE, 3499, "", 0, 3499, ""),
    ("sale-pct-product", ""): (SALE, 3999, "", 0, 3999, ""),
    # LAUNCH: the code applies to the launch price; stacking makes no difference outside a sale.
    ("launch-product", "pct10"): (LAUNCH, 2999, "PCT10", 300, 2699, ""),
    ("launch-product", "PCT10STACK"): (LAUNCH, 2999, "PCT10STACK", 300, 2699, ""),
    ("launch-product", "FIX500"): (LAUNCH, 2999, "FIX500", 500, 2499, ""),
    ("launch-product", "FIX500STACK"): (LAUNCH, 2999, "FIX500STACK", 500, 2499, ""),
    # RRP: the code applies to the list price; 50 % of 4999 is 2499.5, rounded up to 2500 off.
    ("rrp-product", "PCT10"): (RRP, 4999, "PCT10", 500, 4499, ""),
    ("rrp-product", "PCT50"): (RRP, 4999, "PCT50", 2500, 2499, ""),
    ("rrp-product", "FIX500"): (RRP, 4999, "FIX500", 500, 4499, ""),
    ("rrp-product", "FIX500STACK"): (RRP, 4999, "FIX500STACK", 500, 4499, ""),
    # SALE, code does not stack: the lower of the sale price and the list price with the code.
    ("sale-product", "PCT10"): (SALE, 3499, "", 0, 3499, NOT_APPLICABLE),  # 4499 > 3499
    ("sale-product", "FIX500"): (SALE, 3499, "", 0, 3499, NOT_APPLICABLE),
    ("sale-product", "PCT50"): (SALE, 3499, "PCT50", 1000, 2499, ""),  # 2499 < 3499
    ("sale-product", "FREE"): (SALE, 3499, "FREE", 3499, 0, ""),
    ("sale-pct-product", "PCT50"): (SALE, 3999, "PCT50", 1500, 2499, ""),
    ("sale-pct-product", "FIX500"): (SALE, 3999, "", 0, 3999, NOT_APPLICABLE),
    # SALE, code stacks: it applies to the sale price.
    ("sale-product", "PCT10STACK"): (SALE, 3499, "PCT10STACK", 350, 3149, ""),  # 349.9 -> 350
    ("sale-product", "FIX500STACK"): (SALE, 3499, "FIX500STACK", 500, 2999, ""),
    ("sale-pct-product", "PCT10STACK"): (SALE, 3999, "PCT10STACK", 400, 3599, ""),
    ("sale-pct-product", "FIX500STACK"): (SALE, 3999, "FIX500STACK", 500, 3499, ""),
    # Minimum charge: 30 and 29 cents are raised to 50; a 100 % or oversized code is a free order.
    ("launch-product", "PCT99"): (LAUNCH, 2999, "PCT99", 2949, 50, ""),
    ("launch-product", "FIX2970"): (LAUNCH, 2999, "FIX2970", 2949, 50, ""),
    ("launch-product", "FREE"): (LAUNCH, 2999, "FREE", 2999, 0, ""),
    ("launch-product", "FIX5000"): (LAUNCH, 2999, "FIX5000", 2999, 0, ""),
    ("rrp-product", "FREE"): (RRP, 4999, "FREE", 4999, 0, ""),
}


def _row(quote: pb.Quote) -> tuple:
    return (
        quote.mode,
        quote.mode_price_minor,
        quote.discount_code,
        quote.code_discount_minor,
        quote.final_amount_minor,
        quote.code_not_applied_reason,
    )


async def test_the_default_catalogue_charges_the_launch_price_of_2999_with_4999_rrp(pricing: Pricing):
    quote = await pricing.quote("launch-product")
    assert (quote.currency, quote.list_price_minor, quote.config_version) == ("USD", 4999, 0)
    assert _row(quote) == (LAUNCH, 2999, "", 0, 2999, "")
    assert quote.quote_time == ts(pricing.clock.now_ms())


async def test_quotes_follow_the_stacking_rounding_and_minimum_charge_table(pricing: Pricing):
    version = (await pricing.set_products(*CATALOGUE)).version
    for code, fields in CODES.items():
        await pricing.create_code(code, **fields)

    actual = {(p, c): _row(await pricing.quote(p, c, "acct-1")) for p, c in TABLE}

    assert actual == TABLE
    quote = await pricing.quote("sale-product", "PCT50")
    assert (quote.product_id, quote.currency, quote.list_price_minor) == ("sale-product", "USD", 4999)
    assert quote.config_version == version
    assert quote.final_amount_minor == quote.mode_price_minor - quote.code_discount_minor


async def test_a_quote_needs_a_known_product_and_well_formed_fields(pricing: Pricing):
    await fails_with(pricing.quote("no-such-product"), grpc.StatusCode.NOT_FOUND, "PRODUCT_NOT_FOUND")
    for bad in (("Launch Product", "", ""), ("launch-product", "x", ""), ("launch-product", "", "bad acct")):
        await fails_with(pricing.quote(*bad), grpc.StatusCode.INVALID_ARGUMENT, "INVALID_ARGUMENT")
