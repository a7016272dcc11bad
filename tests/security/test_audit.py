"""Every privileged call and every refusal writes one structured audit record naming the caller."""

from __future__ import annotations

import json
import logging

import grpc
import pytest
from pricing.v1 import pricing_service_pb2 as pri
from pricing.v1 import pricing_service_pb2_grpc

from svckit.logs import JsonFormatter
from tests.security.conftest import TlsStack, role_token
from tests.security.test_policy_table import CASES, _call, _case_id, _request

AUDITED = [case for case in CASES if case[2].audited]


def _records(caplog, method: str) -> list[dict]:
    """The audit records of `method`, as the JSON lines the services write."""
    lines = [json.loads(JsonFormatter().format(r)) for r in caplog.records if r.name == "audit"]
    return [line for line in lines if line["method"] == method]


@pytest.fixture
def audit_log(caplog):
    caplog.set_level(logging.INFO, logger="audit")
    return caplog


@pytest.mark.parametrize("case", AUDITED, ids=_case_id)
async def test_a_privileged_call_writes_one_record_with_the_authenticated_identity(
    tls_stack: TlsStack, audit_log, case
):
    method, reason, rule = case
    role = sorted(rule.roles)[0]
    await _call(tls_stack, method, _request(method, reason), "admin-cli", role_token(role))
    [record] = _records(audit_log, method)
    assert (record["identity"], record["token"], record["peer_service"]) == (
        f"{role}-holder",
        f"{role}-token",
        "admin-cli",
    )
    assert record["outcome"] != "PERMISSION_DENIED" and "request_id" in record["request"]


async def test_a_refusal_writes_one_record_and_an_unprivileged_call_none(tls_stack: TlsStack, audit_log):
    debit = "/balance.v1.BalanceService/Debit"
    await _call(tls_stack, debit, _request(debit, 2), "payment", None)  # PURCHASE is a spender's
    [refusal] = _records(audit_log, debit)
    assert (refusal["identity"], refusal["outcome"], refusal["error_reason"]) == (
        "payment",
        "PERMISSION_DENIED",
        "ROLE_MISSING",
    )
    assert (refusal["request"]["reason"], refusal["request"]["amount_minor"]) == (
        "TRANSACTION_REASON_PURCHASE",
        1,
    )

    quote = "/pricing.v1.PricingService/GetQuote"
    assert (
        await _call(tls_stack, quote, pri.GetQuoteRequest(product_id="launch-product"), "payment", None)
        is None
    )
    assert _records(audit_log, quote) == []


async def test_the_config_history_records_the_authenticated_identity_not_x_caller_id(
    tls_stack: TlsStack, audit_log
):
    channel = tls_stack.channel("pricing", "admin-cli")
    stub = pricing_service_pb2_grpc.PricingServiceStub(channel)
    metadata = (("authorization", f"Bearer {role_token('admin')}"), ("x-caller-id", "mallory"))
    current = (await stub.GetPricingConfig(pri.GetPricingConfigRequest(), metadata=metadata)).config
    written = await stub.UpdatePricingConfig(
        pri.UpdatePricingConfigRequest(
            products=current.products, expected_version=current.version, request_id="audit-cfg-1"
        ),
        metadata=metadata,
    )
    assert written.config.updated_by == "admin-holder"
    changes = await stub.ListPricingConfigChanges(pri.ListPricingConfigChangesRequest(), metadata=metadata)
    assert [c.changed_by for c in changes.changes] == ["admin-holder"]
    [record] = _records(audit_log, "/pricing.v1.PricingService/UpdatePricingConfig")
    assert (record["identity"], record["claimed_caller"], record["outcome"]) == (
        "admin-holder",
        "mallory",
        "OK",
    )


async def test_an_anonymous_refusal_is_audited_too(start_tls_stack, audit_log):
    stack = await start_tls_stack(require_client_cert=False)
    credit = "/balance.v1.BalanceService/Credit"
    err = await _call(stack, credit, _request(credit, 1), None, None)
    assert err is not None and err.code() == grpc.StatusCode.UNAUTHENTICATED
    [record] = _records(audit_log, credit)
    assert (record["identity"], record["outcome"]) == (None, "UNAUTHENTICATED")


async def test_a_wrong_token_is_audited_with_the_certificate_that_sent_it(tls_stack: TlsStack, audit_log):
    credit = "/balance.v1.BalanceService/Credit"
    err = await _call(tls_stack, credit, _request(credit, 5), "storefront", "not-a-configured-token")
    assert err is not None and err.code() == grpc.StatusCode.PERMISSION_DENIED
    [record] = _records(audit_log, credit)
    assert (record["identity"], record["peer_service"], record["error_reason"]) == (
        "storefront",
        "storefront",
        "ADMIN_TOKEN_INVALID",
    )
