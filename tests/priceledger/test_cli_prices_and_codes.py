"""`priceledger prices` and `priceledger codes` against the real pricing_svc."""

from __future__ import annotations

import pytest
from pricing.v1 import pricing_service_pb2 as pri

from priceledger_client import PricingClient
from tests.priceledger.cli_runner import priceledger, priceledger_json
from tests.priceledger.support import unique


@pytest.fixture
async def product_id(e2e) -> str:
    """A product of this test's own, list 49.99 and launch 29.99 USD, priced at launch."""
    product_id = unique("prod")
    async with PricingClient(e2e.pricing, admin_token=e2e.admin_token) as pricing:
        config = await pricing.get_pricing_config()
        new = pri.Product(
            product_id=product_id,
            display_name="Pro plan",
            currency="USD",
            list_price_minor=4999,
            launch_price_minor=2999,
            base_mode=pri.PRICING_MODE_LAUNCH,
        )
        await pricing.update_pricing_config([*config.products, new], expected_version=config.version)
    return product_id


async def quoted(e2e, product_id: str) -> tuple[str, str]:
    quote = (await priceledger_json(e2e, "prices", "show", product_id))["quote"]
    return quote["mode"], quote["mode_price_minor"]


async def test_prices_show_prints_the_catalogue_as_a_table_and_as_json(e2e, product_id):
    result = await priceledger(e2e, "prices", "show")
    assert result.exit_code == 0, result.output
    assert product_id in result.stdout and "29.99 USD" in result.stdout
    config = await priceledger_json(e2e, "prices", "show")
    assert product_id in [p["product_id"] for p in config["products"]]


async def test_set_mode_and_a_sale_change_what_the_product_costs(e2e, product_id):
    assert await quoted(e2e, product_id) == ("PRICING_MODE_LAUNCH", "2999")

    assert (await priceledger(e2e, "prices", "set-mode", product_id, "rrp")).exit_code == 0
    assert await quoted(e2e, product_id) == ("PRICING_MODE_RRP", "4999")

    result = await priceledger(e2e, "prices", "start-sale", product_id, "--percent-off", "20")
    assert result.exit_code == 0, result.output
    assert "20% off list" in result.stdout
    assert await quoted(e2e, product_id) == ("PRICING_MODE_SALE", "3999")

    assert (await priceledger(e2e, "prices", "stop-sale", product_id)).exit_code == 0
    assert await quoted(e2e, product_id) == ("PRICING_MODE_RRP", "4999")


async def test_a_sale_that_ends_before_it_starts_is_refused_with_its_field_violation(e2e, product_id):
    result = await priceledger(
        e2e,
        "prices",
        "start-sale",
        product_id,
        "--price-minor",
        "1999",
        "--starts",
        "2030-01-02T00:00:00Z",
        "--ends",
        "2030-01-01T00:00:00Z",
    )
    assert result.exit_code == 1
    line = result.stderr.strip()
    assert line.startswith("error: INVALID_ARGUMENT ") and "end_time" in line and "\n" not in line
    assert await quoted(e2e, product_id) == ("PRICING_MODE_LAUNCH", "2999")


async def test_changing_a_product_not_in_the_catalogue_fails_and_writes_nothing(e2e):
    before = (await priceledger_json(e2e, "prices", "show"))["version"]
    result = await priceledger(e2e, "prices", "set-mode", "no-such-product", "rrp")
    assert (result.exit_code, result.stderr.split(":")[0]) == (1, "error")
    assert "NOT_FOUND PRODUCT_NOT_FOUND" in result.stderr
    assert (await priceledger_json(e2e, "prices", "show"))["version"] == before


async def test_codes_create_show_list_and_disable(e2e):
    code = unique("SAVE").upper()
    created = await priceledger_json(
        e2e, "codes", "create", code.lower(), "--percent-off", "15", "--max-redemptions", "3"
    )
    assert (created["code"], created["percent_off"], created["max_redemptions"]) == (code, 15, "3")

    shown = await priceledger(e2e, "codes", "show", code)
    assert shown.exit_code == 0 and code in shown.stdout and "15%" in shown.stdout

    listed = await priceledger_json(e2e, "codes", "list", "--page-size", "500")
    assert code in [c["code"] for c in listed["discount_codes"]]

    assert (await priceledger_json(e2e, "codes", "disable", code))["disabled"] is True
    async with PricingClient(e2e.pricing) as pricing:
        quote = await pricing.get_quote("launch-product", discount_code=code)
    assert quote.code_not_applied_reason == "DISCOUNT_CODE_DISABLED"


async def test_creating_a_code_twice_reports_already_exists(e2e):
    code = unique("TWICE").upper()
    assert (await priceledger(e2e, "codes", "create", code, "--percent-off", "5")).exit_code == 0
    again = await priceledger(e2e, "codes", "create", code, "--percent-off", "5")
    assert again.exit_code == 1
    assert "ALREADY_EXISTS DISCOUNT_CODE_ALREADY_EXISTS" in again.stderr


async def test_a_code_needs_exactly_one_kind_of_discount(e2e):
    neither = await priceledger(e2e, "codes", "create", unique("NONE"))
    both = await priceledger(
        e2e, "codes", "create", unique("BOTH"), "--percent-off", "5", "--amount-off-minor", "5"
    )
    assert (neither.exit_code, both.exit_code) == (2, 2)
