"""Default deny, checked at build time: every RPC of every proto service declares an enforceable policy."""

from __future__ import annotations

import importlib
from pathlib import Path

import grpc
import pytest
from google.protobuf import descriptor, empty_pb2
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from balance_svc.model import CAPTURE_REASONS, CREDIT_REASONS, DEBIT_REASONS
from svckit.identity import Authenticator
from svckit.interceptors import ServiceLayer
from svckit.method_wrapping import WrappingInterceptor
from svckit.policy import PolicyError, PolicyLayer, load, method_policy
from svckit.status import error_info
from svckit.tokens import TokenBook

GEN = Path(__file__).resolve().parents[2] / "gen"
HEALTH = health_pb2.DESCRIPTOR.services_by_name["Health"].full_name


def _services() -> list[descriptor.ServiceDescriptor]:
    """Every service of every generated module, read now: a proto added later is checked too."""
    services = []
    for path in sorted(GEN.rglob("*_pb2.py")):
        module = importlib.import_module(".".join(path.relative_to(GEN).with_suffix("").parts))
        services.extend(module.DESCRIPTOR.services_by_name.values())
    return services


SERVICES = _services()
METHODS = [m for s in SERVICES for m in s.methods]


def test_the_generated_code_holds_the_three_services():
    assert {"balance.v1.BalanceService", "pricing.v1.PricingService", "payment.v1.PaymentService"} <= {
        s.full_name for s in SERVICES
    }


@pytest.mark.parametrize("method", METHODS, ids=lambda m: m.full_name)
def test_every_rpc_declares_an_enforceable_access_policy(method):
    try:
        policy = method_policy(method)
    except PolicyError as err:
        pytest.fail(f"{method.full_name}: {err}")
    assert policy is not None, f"{method.full_name} has no `option (access.v1.access)`: nobody may call it"


async def _call_on_policed_server(method: str, policies: dict, register) -> grpc.aio.AioRpcError | None:
    authenticator = Authenticator(TokenBook([]), {}, "priceledger.local", plaintext_dev=True)
    server = grpc.aio.server(
        interceptors=[WrappingInterceptor(ServiceLayer("test.v1"), PolicyLayer(policies, authenticator))]
    )
    register(server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            call = channel.unary_unary(method, request_serializer=empty_pb2.Empty.SerializeToString)
            await call(empty_pb2.Empty(), timeout=5)
    except grpc.aio.AioRpcError as err:
        return err
    finally:
        await server.stop(0)
    return None


async def _answer(request, context) -> bytes:
    return b""


def _probe_service(server: grpc.aio.Server) -> None:
    """test.v1.Probe/Call: an RPC with no proto, so no declared policy."""
    handlers = {"Call": grpc.unary_unary_rpc_method_handler(_answer, response_serializer=bytes)}
    server.add_generic_rpc_handlers([grpc.method_handlers_generic_handler("test.v1.Probe", handlers)])


@pytest.mark.parametrize("policies", [{"/test.v1.Probe/Call": None}, {}], ids=["bound", "mounted-by-hand"])
async def test_a_method_without_a_declared_policy_cannot_be_called(policies):
    refused = await _call_on_policed_server("/test.v1.Probe/Call", policies, _probe_service)
    assert refused is not None and refused.code() == grpc.StatusCode.PERMISSION_DENIED
    assert error_info(refused).reason == "ROLE_MISSING"


async def test_health_outside_the_bound_services_stays_open():
    def health_only(server):
        health_pb2_grpc.add_HealthServicer_to_server(health.aio.HealthServicer(), server)

    assert await _call_on_policed_server(f"/{HEALTH}/Check", {}, health_only) is None


@pytest.mark.parametrize(
    "method, domain_reasons",
    [("Credit", CREDIT_REASONS), ("Debit", DEBIT_REASONS), ("CaptureHold", CAPTURE_REASONS)],
)
def test_the_policy_names_exactly_the_reasons_the_ledger_accepts(method, domain_reasons):
    """A reason the ledger accepts without a rule would be open to any role of the method."""
    policy = load(["balance.v1.BalanceService"])[f"/balance.v1.BalanceService/{method}"]
    assert policy is not None and policy.by_reason is not None
    assert set(policy.by_reason) == {int(r) for r in domain_reasons}
