"""Client of payment_svc: orders, checkouts, top-ups, auto top-up and refunds."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from payment.v1 import payment_service_pb2 as pay
from payment.v1 import payment_service_pb2_grpc

from priceledger_client.base import ServiceClient

_READ_S = 3.0
# payment_svc may spend up to its Stripe timeout, with retries, inside one of these calls.
_STRIPE_S = 30.0


class PaymentClient(ServiceClient):
    """Methods return the response's one field (an Order, an AutoTopUp), or the whole response."""

    addr_setting = "payment_service_addr"
    stub_class = payment_service_pb2_grpc.PaymentServiceStub
    deadlines_s: ClassVar[Mapping[str, float]] = {
        "CreateCheckoutSession": _STRIPE_S,
        "CreateTopUpSession": _STRIPE_S,
        "GetOrder": _READ_S,
        "ListOrders": _READ_S,
        "TopUpWithSavedCard": _STRIPE_S,
        "ConfigureAutoTopUp": 10.0,  # it also calls balance_svc
        "GetAutoTopUp": _READ_S,
        "RefundOrder": _STRIPE_S,
        "HandleStripeEvent": _STRIPE_S,
    }

    async def create_checkout_session(
        self,
        account_id: str,
        product_id: str,
        *,
        success_url: str,
        cancel_url: str,
        discount_code: str = "",
        request_id: str | None = None,
        timeout_s: float | None = None,
    ) -> pay.CreateCheckoutSessionResponse:
        request = pay.CreateCheckoutSessionRequest(
            account_id=account_id,
            product_id=product_id,
            discount_code=discount_code,
            success_url=success_url,
            cancel_url=cancel_url,
        )
        return await self._mutate("CreateCheckoutSession", request, request_id, timeout_s)

    async def create_top_up_session(
        self,
        account_id: str,
        blocks: int,
        *,
        success_url: str,
        cancel_url: str,
        request_id: str | None = None,
        timeout_s: float | None = None,
    ) -> pay.CreateTopUpSessionResponse:
        request = pay.CreateTopUpSessionRequest(
            account_id=account_id, blocks=blocks, success_url=success_url, cancel_url=cancel_url
        )
        return await self._mutate("CreateTopUpSession", request, request_id, timeout_s)

    async def get_order(self, order_id: str, *, timeout_s: float | None = None) -> pay.Order:
        return (await self._call("GetOrder", pay.GetOrderRequest(order_id=order_id), timeout_s)).order

    async def list_orders(
        self, account_id: str, *, page_size: int = 0, page_token: str = "", timeout_s: float | None = None
    ) -> pay.ListOrdersResponse:
        request = pay.ListOrdersRequest(account_id=account_id, page_size=page_size, page_token=page_token)
        return await self._call("ListOrders", request, timeout_s)

    async def top_up_with_saved_card(
        self, account_id: str, blocks: int, *, request_id: str | None = None, timeout_s: float | None = None
    ) -> pay.TopUpWithSavedCardResponse:
        request = pay.TopUpWithSavedCardRequest(account_id=account_id, blocks=blocks)
        return await self._mutate("TopUpWithSavedCard", request, request_id, timeout_s)

    async def configure_auto_top_up(
        self,
        account_id: str,
        *,
        enabled: bool,
        threshold_minor: int = 0,
        blocks: int = 0,
        max_spend_minor: int = 0,
        period_seconds: int = 0,
        request_id: str | None = None,
        timeout_s: float | None = None,
    ) -> pay.AutoTopUp:
        request = pay.ConfigureAutoTopUpRequest(
            account_id=account_id,
            enabled=enabled,
            threshold_minor=threshold_minor,
            blocks=blocks,
            max_spend_minor=max_spend_minor,
            period_seconds=period_seconds,
        )
        return (await self._mutate("ConfigureAutoTopUp", request, request_id, timeout_s)).auto_top_up

    async def get_auto_top_up(self, account_id: str, *, timeout_s: float | None = None) -> pay.AutoTopUp:
        request = pay.GetAutoTopUpRequest(account_id=account_id)
        return (await self._call("GetAutoTopUp", request, timeout_s)).auto_top_up

    async def refund_order(
        self,
        order_id: str,
        *,
        amount_minor: int = 0,
        reason: str = "",
        request_id: str | None = None,
        timeout_s: float | None = None,
    ) -> pay.RefundOrderResponse:
        """Refunds `amount_minor`, or all that is not yet refunded when 0. Needs the admin token."""
        request = pay.RefundOrderRequest(order_id=order_id, amount_minor=amount_minor, reason=reason)
        return await self._mutate("RefundOrder", request, request_id, timeout_s)

    async def handle_stripe_event(
        self, payload: bytes, stripe_signature: str, *, timeout_s: float | None = None
    ) -> pay.HandleStripeEventResponse:
        """For a gateway forwarding Stripe webhooks: the raw body and Stripe-Signature header, unchanged."""
        request = pay.HandleStripeEventRequest(payload=payload, stripe_signature=stripe_signature)
        return await self._call("HandleStripeEvent", request, timeout_s)
