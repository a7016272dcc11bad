"""Every RPC, and every reason of Credit, Debit and CaptureHold, against its declared policy over mTLS."""

from __future__ import annotations

import itertools

import grpc
import pytest
import redis
from balance.v1 import balance_service_pb2 as bal
from google.protobuf import descriptor_pool, json_format, message_factory
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from payment.v1 import payment_service_pb2
from pricing.v1 import pricing_service_pb2 as pri

from svckit.policy import MethodPolicy, Rule, load
from svckit.status import error_info
from tests.security.conftest import ROLES, TlsStack, role_token

SERVICES = {
    "pricing": pri.DESCRIPTOR.services_by_name["PricingService"].full_name,
    "balance": bal.DESCRIPTOR.services_by_name["BalanceService"].full_name,
    "payment": payment_service_pb2.DESCRIPTOR.services_by_name["PaymentService"].full_name,
}
POLICIES = load(SERVICES.values())
REFUSED = (grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED)
_ids = itertools.count()

# Requests that would write if admitted (proto JSON), so "a refusal writes nothing" can fail; ids per call.
ACCOUNT = "acct_policy"
VALID = {
    "Credit": {"account_id": ACCOUNT, "amount_minor": 100, "currency": "USD"},
    "Debit": {"account_id": ACCOUNT, "amount_minor": 1, "currency": "USD"},
    "CreateHold": {"account_id": ACCOUNT, "amount_minor": 1, "currency": "USD", "timeout_ms": 60_000},
    "SetLowBalanceThreshold": {"account_id": ACCOUNT, "threshold_minor": 50},
    "CreateDiscountCode": {
        "discount_code": {"code": "POLICY10", "kind": "DISCOUNT_KIND_PERCENT", "percent_off": 10}
    },
    "ConfigureAutoTopUp": {
        "account_id": ACCOUNT,
        "enabled": True,
        "threshold_minor": 100,
        "blocks": 1,
        "max_spend_minor": 5000,
    },
}


def _service_of(method: str) -> str:
    return next(short for short, full in SERVICES.items() if method.startswith(f"/{full}/"))


def _cases() -> list[tuple[str, int | None, Rule]]:
    """(method, reason value or None, rule): one per RPC, one per declared reason of reasoned RPCs."""
    out = []
    for method, policy in sorted(POLICIES.items()):
        assert isinstance(policy, MethodPolicy), f"{method} declares no policy"
        if policy.by_reason is None:
            out.append((method, None, policy.rule))
        else:
            out.extend((method, reason, rule) for reason, rule in sorted(policy.by_reason.items()))
    return out


CASES = _cases()


def _case_id(case) -> str:
    method, reason, _ = case
    return method.rsplit("/", 1)[1] + (f"-{reason}" if reason is not None else "")


def _request(method: str, reason: int | None):
    descriptor = descriptor_pool.Default().FindMethodByName(method.strip("/").replace("/", "."))
    cls = message_factory.GetMessageClass(descriptor.input_type)
    request = cls()
    json_format.ParseDict(VALID.get(descriptor.name, {}), request)
    if reason is not None:
        request.reason = reason
    if "request_id" in cls.DESCRIPTOR.fields_by_name:
        request.request_id = f"policy-{next(_ids)}"
    return request


async def _call(stack: TlsStack, method: str, request, identity: str | None, token: str | None):
    channel = stack.channel(_service_of(method), identity)
    call = channel.unary_unary(method, request_serializer=type(request).SerializeToString)
    metadata = (("authorization", f"Bearer {token}"),) if token else None
    try:
        await call(request, metadata=metadata, timeout=10)
    except grpc.aio.AioRpcError as err:
        return err
    return None


def _snapshot(port: int) -> dict[bytes, bytes]:
    with redis.Redis(port=port) as r:
        return {key: r.dump(key) for key in r.scan_iter()}


async def test_refusals_write_nothing_and_say_why(tls_stack: TlsStack, start_tls_stack):
    """No credential: UNAUTHENTICATED. An identity without the role: PERMISSION_DENIED ROLE_MISSING.

    A call with no credential at all can only reach a server that does not require client certificates.
    """
    optional_certs = await start_tls_stack(require_client_cert=False)
    before = _snapshot(tls_stack.redis_port)
    checked = 0
    for method, reason, rule in CASES:
        anonymous = await _call(optional_certs, method, _request(method, reason), None, None)
        assert anonymous is not None and anonymous.code() == grpc.StatusCode.UNAUTHENTICATED, method
        assert error_info(anonymous).reason == "ADMIN_TOKEN_MISSING"
        if rule.any_authenticated:
            continue  # every identity may call it
        outsider = next(role for role in ROLES if role not in rule.roles)
        denied = await _call(tls_stack, method, _request(method, reason), "admin-cli", role_token(outsider))
        assert denied is not None and denied.code() == grpc.StatusCode.PERMISSION_DENIED, (method, reason)
        assert error_info(denied).reason == "ROLE_MISSING"
        no_role = await _call(tls_stack, method, _request(method, reason), "admin-cli", None)
        assert no_role is not None and no_role.code() == grpc.StatusCode.PERMISSION_DENIED, (method, reason)
        checked += 1
    assert checked > 20
    assert _snapshot(tls_stack.redis_port) == before


@pytest.mark.parametrize("case", CASES, ids=_case_id)
async def test_the_right_role_is_admitted(tls_stack: TlsStack, case):
    method, reason, rule = case
    if rule.any_authenticated:
        err = await _call(tls_stack, method, _request(method, reason), "admin-cli", None)
    else:
        role = sorted(rule.roles)[0]
        err = await _call(tls_stack, method, _request(method, reason), "admin-cli", role_token(role))
    assert err is None or err.code() not in REFUSED, (method, err and err.details())


async def test_an_admitted_credit_writes_so_the_refusal_check_can_fail(tls_stack: TlsStack):
    before = _snapshot(tls_stack.redis_port)
    request = _request("/balance.v1.BalanceService/Credit", bal.TRANSACTION_REASON_TOP_UP)
    assert await _call(tls_stack, "/balance.v1.BalanceService/Credit", request, "payment", None) is None
    assert _snapshot(tls_stack.redis_port) != before


async def test_service_certificates_carry_their_roles(tls_stack: TlsStack):
    """payment may credit a top-up but not debit a purchase; the storefront (a spender) the other way."""
    credit = "/balance.v1.BalanceService/Credit"
    debit = "/balance.v1.BalanceService/Debit"
    top_up = _request(credit, bal.TRANSACTION_REASON_TOP_UP)
    assert await _call(tls_stack, credit, top_up, "payment", None) is None
    storefront_credit = await _call(
        tls_stack, credit, _request(credit, bal.TRANSACTION_REASON_TOP_UP), "storefront", None
    )
    assert storefront_credit.code() == grpc.StatusCode.PERMISSION_DENIED
    assert (
        await _call(tls_stack, debit, _request(debit, bal.TRANSACTION_REASON_PURCHASE), "storefront", None)
        is None
    )
    payment_debit = await _call(
        tls_stack, debit, _request(debit, bal.TRANSACTION_REASON_PURCHASE), "payment", None
    )
    assert payment_debit.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_a_reason_that_contradicts_its_direction_is_invalid_argument(tls_stack: TlsStack):
    credit = "/balance.v1.BalanceService/Credit"
    err = await _call(tls_stack, credit, _request(credit, bal.TRANSACTION_REASON_PURCHASE), "payment", None)
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    debit = "/balance.v1.BalanceService/Debit"
    err = await _call(tls_stack, debit, _request(debit, bal.TRANSACTION_REASON_TOP_UP), "storefront", None)
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_health_and_reflection_need_no_role_nor_token(tls_stack: TlsStack, start_tls_stack):
    """Over required mTLS any certificate of the CA will do (admin-cli holds no role); where certificates
    are optional, no credential at all."""
    optional_certs = await start_tls_stack(require_client_cert=False)
    for stack, identity in ((tls_stack, "admin-cli"), (optional_certs, None)):
        for service in SERVICES:
            channel = stack.channel(service, identity)
            reply = await health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(), timeout=5
            )
            assert reply.status == health_pb2.HealthCheckResponse.SERVING
            request = reflection_pb2.ServerReflectionRequest(list_services="")
            responses = reflection_pb2_grpc.ServerReflectionStub(channel).ServerReflectionInfo(
                iter([request])
            )
            listed = [s.name async for r in responses for s in r.list_services_response.service]
            assert SERVICES[service] in listed
