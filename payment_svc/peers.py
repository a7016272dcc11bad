"""Clients of pricing_svc and balance_svc whose errors come back as ours."""

from __future__ import annotations

import grpc
from balance.v1 import balance_service_pb2 as bal
from balance.v1 import balance_service_pb2_grpc
from pricing.v1 import pricing_service_pb2 as pri
from pricing.v1 import pricing_service_pb2_grpc

from payment_svc.errors import DependencyUnavailable, PeerRejected
from svckit.channels import peer_channel
from svckit.errors import ServiceError
from svckit.status import error_info

# A peer failing in these ways may well succeed later: callers answer UNAVAILABLE so their sender retries.
_TRANSIENT = frozenset(
    {
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.DEADLINE_EXCEEDED,
        grpc.StatusCode.UNKNOWN,
        grpc.StatusCode.INTERNAL,
        grpc.StatusCode.UNIMPLEMENTED,
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        grpc.StatusCode.ABORTED,
        grpc.StatusCode.CANCELLED,
    }
)


def translate(err: grpc.aio.AioRpcError, peer: str) -> ServiceError:
    """UNAVAILABLE-like failures stay retryable; a peer's verdict keeps its code and reason."""
    if err.code() in _TRANSIENT:
        return DependencyUnavailable(f"{peer} is unavailable: {err.code().name} {err.details()}")
    info = error_info(err)
    reason = info.reason if info is not None else err.code().name
    return PeerRejected(err.code().name, reason, f"{peer}: {err.details() or reason}")


class _Peer:
    name = ""

    def __init__(self, addr: str, timeout_s: float, credentials: grpc.ChannelCredentials | None) -> None:
        self._channel = peer_channel(addr, credentials)
        self._timeout_s = timeout_s

    async def _call(self, method, request):
        try:
            return await method(request, timeout=self._timeout_s)
        except grpc.aio.AioRpcError as err:
            raise translate(err, self.name) from err

    async def close(self) -> None:
        await self._channel.close()


class PricingClient(_Peer):
    name = "pricing_svc"

    def __init__(self, addr: str, timeout_s: float, credentials: grpc.ChannelCredentials | None) -> None:
        super().__init__(addr, timeout_s, credentials)
        self._stub = pricing_service_pb2_grpc.PricingServiceStub(self._channel)

    async def quote(self, product_id: str, discount_code: str, account_id: str) -> pri.Quote:
        request = pri.GetQuoteRequest(
            product_id=product_id, discount_code=discount_code, account_id=account_id
        )
        return (await self._call(self._stub.GetQuote, request)).quote

    async def reserve_code(
        self, code: str, order_id: str, account_id: str, product_id: str, ttl_s: int
    ) -> None:
        request = pri.ReserveDiscountCodeRequest(
            code=code,
            order_id=order_id,
            account_id=account_id,
            product_id=product_id,
            ttl_seconds=ttl_s,
            request_id=f"reserve-{order_id}",
        )
        await self._call(self._stub.ReserveDiscountCode, request)

    async def confirm_code(self, code: str, order_id: str) -> None:
        request = pri.ConfirmDiscountCodeRequest(
            code=code, order_id=order_id, request_id=f"confirm-{order_id}"
        )
        await self._call(self._stub.ConfirmDiscountCode, request)

    async def release_code(self, code: str, order_id: str) -> None:
        request = pri.ReleaseDiscountCodeRequest(
            code=code, order_id=order_id, request_id=f"release-{order_id}"
        )
        await self._call(self._stub.ReleaseDiscountCode, request)


class BalanceClient(_Peer):
    name = "balance_svc"

    def __init__(self, addr: str, timeout_s: float, credentials: grpc.ChannelCredentials | None) -> None:
        super().__init__(addr, timeout_s, credentials)
        self._stub = balance_service_pb2_grpc.BalanceServiceStub(self._channel)

    async def credit_top_up(
        self, account_id: str, amount_minor: int, currency: str, order_id: str, request_id: str
    ) -> None:
        fields = _entry(account_id, amount_minor, currency, order_id, request_id)
        await self._call(self._stub.Credit, bal.CreditRequest(reason=bal.TRANSACTION_REASON_TOP_UP, **fields))

    async def debit_refund(
        self, account_id: str, amount_minor: int, currency: str, order_id: str, request_id: str
    ) -> None:
        fields = _entry(account_id, amount_minor, currency, order_id, request_id)
        await self._call(self._stub.Debit, bal.DebitRequest(reason=bal.TRANSACTION_REASON_REFUND, **fields))

    async def available_minor(self, account_id: str) -> int:
        response = await self._call(self._stub.GetBalance, bal.GetBalanceRequest(account_id=account_id))
        return response.balance.available_minor

    async def set_low_balance_threshold(self, account_id: str, threshold_minor: int, request_id: str) -> None:
        request = bal.SetLowBalanceThresholdRequest(
            account_id=account_id, threshold_minor=threshold_minor, request_id=request_id
        )
        await self._call(self._stub.SetLowBalanceThreshold, request)


def _entry(account_id: str, amount_minor: int, currency: str, order_id: str, request_id: str) -> dict:
    """A ledger entry that names its order, idempotent per request_id derived from that order."""
    return {
        "account_id": account_id,
        "amount_minor": amount_minor,
        "currency": currency,
        "reference": order_id,
        "request_id": request_id,
    }
