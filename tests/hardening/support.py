"""The three services started alike, calls made by method path, and each service's calls that reach Redis."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import grpc
from balance.v1 import balance_service_pb2 as bal
from google.protobuf import descriptor_pool, message, message_factory
from payment.v1 import payment_service_pb2 as pay
from pricing.v1 import pricing_service_pb2 as pri

from balance_svc.config import Settings as BalanceSettings
from balance_svc.server import create_server as create_balance
from payment_svc.config import Settings as PaymentSettings
from payment_svc.server import create_server as create_payment
from pricing_svc.server import create_server as create_pricing
from pricing_svc.settings import Settings as PricingSettings
from svckit.status import error_info
from tests.conftest import ADMIN_METADATA, base_settings

# service -> (create_server, settings class, ErrorInfo domain, full gRPC service name)
SERVICES = {
    "balance": (create_balance, BalanceSettings, "balance.v1", "balance.v1.BalanceService"),
    "pricing": (create_pricing, PricingSettings, "pricing.v1", "pricing.v1.PricingService"),
    "payment": (create_payment, PaymentSettings, "payment.v1", "payment.v1.PaymentService"),
}


@dataclass(frozen=True)
class Call:
    """One RPC by its full method path, e.g. `/balance.v1.BalanceService/GetBalance`."""

    method: str
    request: message.Message
    admin: bool = False


def _call(service: str, name: str, request: message.Message, *, admin: bool = False) -> Call:
    return Call(f"/{SERVICES[service][3]}/{name}", request, admin)


# Per service: a read and a mutation that both need Redis to answer.
REDIS_CALLS = {
    "balance": (
        _call("balance", "GetBalance", bal.GetBalanceRequest(account_id="acct_1")),
        _call(
            "balance",
            "Credit",
            bal.CreditRequest(
                account_id="acct_1",
                amount_minor=100,
                currency="USD",
                reason=bal.TRANSACTION_REASON_TOP_UP,
                request_id="credit-1",
            ),
        ),
    ),
    "pricing": (
        _call("pricing", "GetDiscountCode", pri.GetDiscountCodeRequest(code="NOPE"), admin=True),
        _call(
            "pricing",
            "ReserveDiscountCode",
            pri.ReserveDiscountCodeRequest(
                code="NOPE",
                order_id="order-1",
                account_id="acct_1",
                product_id="launch-product",
                ttl_seconds=60,
                request_id="reserve-1",
            ),
        ),
    ),
    "payment": (
        _call("payment", "GetOrder", pay.GetOrderRequest(order_id="ord_0123456789abcdef01234567")),
        _call(
            "payment",
            "RefundOrder",
            pay.RefundOrderRequest(
                order_id="ord_0123456789abcdef01234567",
                amount_minor=100,
                reason="requested_by_customer",
                request_id="refund-1",
            ),
            admin=True,
        ),
    ),
}


# payment_svc with Stripe configured (so its Stripe methods get as far as Redis) at an address nothing
# serves, peers nowhere, and no background sweeps.
_OVERRIDES = {
    "payment": {
        "stripe_secret_key": "sk_test_hardening",
        "stripe_api_base": "http://127.0.0.1:9",
        "stripe_webhook_secret": "whsec_hardening",
        "reconcile_interval_s": 0,
        "pricing_service_addr": "127.0.0.1:9",
        "balance_service_addr": "127.0.0.1:9",
    }
}


def settings_for(service: str, redis_overrides: dict[str, str], **overrides):
    values = {**_OVERRIDES.get(service, {}), **redis_overrides, **overrides}
    return SERVICES[service][1](**base_settings(**values))


def response_class(method: str) -> type[message.Message]:
    _, service, name = method.split("/")
    descriptor = descriptor_pool.Default().FindServiceByName(service).FindMethodByName(name)
    return message_factory.GetMessageClass(descriptor.output_type)


async def invoke(
    channel: grpc.aio.Channel, call: Call, *, deadline_s: float = 10.0, raw: bytes | None = None
) -> grpc.aio.AioRpcError | message.Message:
    """The response, or the error; `raw` sends those bytes instead of the serialized request."""
    rpc = channel.unary_unary(
        call.method,
        request_serializer=(lambda _: raw) if raw is not None else type(call.request).SerializeToString,
        response_deserializer=response_class(call.method).FromString,
    )
    try:
        return await rpc(call.request, timeout=deadline_s, metadata=ADMIN_METADATA if call.admin else None)
    except grpc.aio.AioRpcError as err:
        return err


def reason(result: grpc.aio.AioRpcError | message.Message) -> str | None:
    """The ErrorInfo reason of an error (None for a success or an error without ErrorInfo)."""
    if not isinstance(result, grpc.aio.AioRpcError):
        return None
    info = error_info(result)
    return info.reason if info else None


@contextmanager
def stopped(*pids: int) -> Iterator[None]:
    """SIGSTOPs the processes (they keep their sockets: the kernel still accepts connections)."""
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        for pid in pids:
            os.kill(pid, signal.SIGCONT)
