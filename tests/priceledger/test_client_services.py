"""The client library against the real services: typed errors, reasons, violations, idempotency, env."""

from __future__ import annotations

import pytest
from balance.v1 import balance_service_pb2 as bal
from pricing.v1 import pricing_service_pb2 as pri

from devtools.redis_procs import free_port
from priceledger_client import (
    Aborted,
    BalanceClient,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PaymentClient,
    PermissionDenied,
    PricingClient,
    Unauthenticated,
    Unavailable,
)
from tests.priceledger.support import unique

TOP_UP = bal.TRANSACTION_REASON_TOP_UP  # the plaintext dev caller holds `payment`, not `admin`


async def test_bad_fields_raise_invalid_argument_with_every_field_violation(e2e):
    async with BalanceClient(e2e.balance) as balance:
        with pytest.raises(InvalidArgument) as caught:
            await balance.credit("not an id!", 0, reason=TOP_UP)
    err = caught.value
    assert (err.reason, err.domain, err.transient) == ("INVALID_ARGUMENT", "balance.v1", False)
    assert {"account_id", "amount_minor"} <= {v.field for v in err.field_violations}
    assert err.method == "BalanceService.Credit"


async def test_a_refused_debit_carries_its_reason_and_the_request_id_it_was_sent_with(e2e):
    async with BalanceClient(e2e.balance) as balance:
        with pytest.raises(FailedPrecondition) as caught:
            await balance.debit(unique("acct"), 100, reason=bal.TRANSACTION_REASON_USAGE)
    assert caught.value.reason == "INSUFFICIENT_FUNDS"
    assert caught.value.request_id


async def test_an_unknown_order_is_not_found_with_the_services_reason(e2e):
    async with PaymentClient(e2e.payment) as payment:
        with pytest.raises(NotFound) as caught:
            await payment.get_order("ord_0123456789abcdef01234567")
    assert (caught.value.reason, caught.value.domain) == ("ORDER_NOT_FOUND", "payment.v1")


async def test_operations_without_a_request_id_each_apply_once(e2e):
    account = unique("acct")
    async with BalanceClient(e2e.balance) as balance:
        first = await balance.credit(account, 100, reason=TOP_UP)
        second = await balance.credit(account, 100, reason=TOP_UP)
        assert first.transaction.request_id != second.transaction.request_id
        assert (await balance.get_balance(account)).balance_minor == 200


async def test_a_repeated_request_id_applies_once_and_returns_the_first_result(e2e):
    account = unique("acct")
    async with BalanceClient(e2e.balance) as balance:
        first = await balance.credit(account, 100, reason=TOP_UP, request_id="grant-1")
        again = await balance.credit(account, 100, reason=TOP_UP, request_id="grant-1")
        assert again.transaction.transaction_id == first.transaction.transaction_id
        assert (await balance.get_balance(account)).balance_minor == 100


async def test_from_env_reads_the_services_addresses_and_admin_token(e2e, monkeypatch):
    monkeypatch.setenv("PRICING_SERVICE_ADDR", e2e.pricing)
    monkeypatch.setenv("ADMIN_TOKEN", e2e.admin_token)
    async with PricingClient.from_env() as pricing:
        code = await pricing.create_discount_code(
            pri.DiscountCode(code=unique("ENV"), kind=pri.DISCOUNT_KIND_PERCENT, percent_off=5)
        )
        assert (await pricing.get_discount_code(code.code.lower())).percent_off == 5


async def test_admin_methods_refuse_a_missing_or_wrong_token_with_their_reasons(e2e, monkeypatch):
    monkeypatch.delenv("ADMIN_TOKEN", raising=False)
    async with PricingClient.from_env(e2e.pricing) as anonymous:
        with pytest.raises(Unauthenticated) as missing:
            await anonymous.list_pricing_config_changes()
    async with PricingClient(e2e.pricing, admin_token="wrong") as impostor:
        with pytest.raises(PermissionDenied) as wrong:
            await impostor.list_pricing_config_changes()
    assert (missing.value.reason, wrong.value.reason) == ("ADMIN_TOKEN_MISSING", "ADMIN_TOKEN_INVALID")


async def test_an_address_nobody_listens_on_is_unavailable(e2e):
    async with BalanceClient(f"127.0.0.1:{free_port()}") as balance:
        with pytest.raises(Unavailable) as caught:
            await balance.get_balance("acct-1")
    assert caught.value.transient


async def test_a_stale_catalogue_version_is_aborted_and_writes_nothing(e2e):
    async with PricingClient(e2e.pricing, admin_token=e2e.admin_token) as pricing:
        config = await pricing.get_pricing_config()
        with pytest.raises(Aborted) as caught:
            await pricing.update_pricing_config(config.products, expected_version=config.version + 1)
        assert (caught.value.reason, caught.value.transient) == ("CONFIG_VERSION_MISMATCH", True)
        assert (await pricing.get_pricing_config()).version == config.version
