"""PaymentService servicer: proto to domain and back."""

from __future__ import annotations

from dataclasses import dataclass

import grpc
from payment.v1 import payment_service_pb2 as pb
from payment.v1 import payment_service_pb2_grpc
from pricing.v1 import pricing_service_pb2

from payment_svc.auto_top_up import AutoTopUpChange, AutoTopUps
from payment_svc.auto_top_up_store import AutoTopUp, AutoTopUpSettings
from payment_svc.checkout import Checkout, ProductPurchase, TopUpPurchase
from payment_svc.deadline import with_rpc_deadline
from payment_svc.order_queries import OrderQueries
from payment_svc.orders import OPEN, Order
from payment_svc.refunds import Refunds
from payment_svc.saved_card import SavedCardTopUps
from payment_svc.webhooks import WebhookProcessor
from svckit.timestamps import timestamp_from_ms


@dataclass(frozen=True)
class Domain:
    queries: OrderQueries
    checkout: Checkout
    saved_card: SavedCardTopUps
    auto_top_ups: AutoTopUps
    refunds: Refunds
    webhooks: WebhookProcessor


class PaymentServicer(payment_service_pb2_grpc.PaymentServiceServicer):
    def __init__(self, domain: Domain) -> None:
        self._d = domain

    @with_rpc_deadline
    async def CreateCheckoutSession(
        self, request: pb.CreateCheckoutSessionRequest, context: grpc.aio.ServicerContext
    ) -> pb.CreateCheckoutSessionResponse:
        order = await self._d.checkout.buy_product(
            ProductPurchase(
                account_id=request.account_id,
                product_id=request.product_id,
                discount_code=request.discount_code,
                success_url=request.success_url,
                cancel_url=request.cancel_url,
                request_id=request.request_id,
            )
        )
        return pb.CreateCheckoutSessionResponse(
            order=order_pb(order),
            checkout_url=order.checkout_url,
            session_id=order.stripe_checkout_session_id,
        )

    @with_rpc_deadline
    async def CreateTopUpSession(
        self, request: pb.CreateTopUpSessionRequest, context: grpc.aio.ServicerContext
    ) -> pb.CreateTopUpSessionResponse:
        order = await self._d.checkout.buy_top_up(
            TopUpPurchase(
                account_id=request.account_id,
                blocks=request.blocks,
                success_url=request.success_url,
                cancel_url=request.cancel_url,
                request_id=request.request_id,
            )
        )
        return pb.CreateTopUpSessionResponse(
            order=order_pb(order),
            checkout_url=order.checkout_url,
            session_id=order.stripe_checkout_session_id,
        )

    async def GetOrder(
        self, request: pb.GetOrderRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetOrderResponse:
        return pb.GetOrderResponse(order=order_pb(await self._d.queries.get(request.order_id)))

    async def ListOrders(
        self, request: pb.ListOrdersRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListOrdersResponse:
        page = await self._d.queries.page(request.account_id, request.page_size, request.page_token)
        return pb.ListOrdersResponse(
            orders=[order_pb(o) for o in page.orders], next_page_token=page.next_page_token
        )

    @with_rpc_deadline
    async def TopUpWithSavedCard(
        self, request: pb.TopUpWithSavedCardRequest, context: grpc.aio.ServicerContext
    ) -> pb.TopUpWithSavedCardResponse:
        result = await self._d.saved_card.top_up(request.account_id, request.blocks, request.request_id)
        return pb.TopUpWithSavedCardResponse(order=order_pb(result.order), action_url=result.action_url)

    async def ConfigureAutoTopUp(
        self, request: pb.ConfigureAutoTopUpRequest, context: grpc.aio.ServicerContext
    ) -> pb.ConfigureAutoTopUpResponse:
        settings = await self._d.auto_top_ups.configure(
            AutoTopUpChange(
                account_id=request.account_id,
                settings=AutoTopUpSettings(
                    enabled=request.enabled,
                    threshold_minor=request.threshold_minor,
                    blocks=request.blocks,
                    max_spend_minor=request.max_spend_minor,
                    period_seconds=request.period_seconds,
                ),
                request_id=request.request_id,
            )
        )
        return pb.ConfigureAutoTopUpResponse(auto_top_up=auto_top_up_pb(settings))

    async def GetAutoTopUp(
        self, request: pb.GetAutoTopUpRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetAutoTopUpResponse:
        settings = await self._d.auto_top_ups.get(request.account_id)
        return pb.GetAutoTopUpResponse(auto_top_up=auto_top_up_pb(settings))

    @with_rpc_deadline
    async def RefundOrder(
        self, request: pb.RefundOrderRequest, context: grpc.aio.ServicerContext
    ) -> pb.RefundOrderResponse:
        result = await self._d.refunds.refund(
            request.order_id, request.amount_minor, request.reason, request.request_id
        )
        return pb.RefundOrderResponse(order=order_pb(result.order), stripe_refund_id=result.stripe_refund_id)

    @with_rpc_deadline
    async def HandleStripeEvent(
        self, request: pb.HandleStripeEventRequest, context: grpc.aio.ServicerContext
    ) -> pb.HandleStripeEventResponse:
        result = await self._d.webhooks.handle(request.payload, request.stripe_signature)
        return pb.HandleStripeEventResponse(
            event_id=result.event_id,
            event_type=result.event_type,
            duplicate=result.duplicate,
            outcome=f"WEBHOOK_OUTCOME_{result.outcome.name}",
        )


def order_pb(order: Order) -> pb.Order:
    return pb.Order(
        order_id=order.order_id,
        account_id=order.account_id,
        kind=f"ORDER_KIND_{order.kind.value}",
        status=f"ORDER_STATUS_{order.status.value}",
        amount_minor=order.amount_minor,
        currency=order.currency,
        product_id=order.product_id,
        blocks=order.blocks,
        quote=pricing_service_pb2.Quote.FromString(order.quote) if order.quote else None,
        discount_code=order.discount_code,
        stripe_customer_id=order.stripe_customer_id,
        stripe_checkout_session_id=order.stripe_checkout_session_id,
        stripe_payment_intent_id=order.stripe_payment_intent_id,
        checkout_url=order.checkout_url if order.status in OPEN else "",
        refunded_minor=order.refunded_minor,
        refund_shortfall_minor=order.refund_shortfall_minor,
        failure_reason=order.failure_reason,
        history=[
            pb.StatusChange(status=f"ORDER_STATUS_{s.value}", change_time=timestamp_from_ms(ms))
            for s, ms in order.history
        ],
        create_time=timestamp_from_ms(order.create_ms),
        update_time=timestamp_from_ms(order.update_ms),
        paid_minor=order.paid_minor,
        attention_refund_id=order.attention_refund_id,
        dispute_id=order.dispute_id,
        dispute_status=order.dispute_status,
        disputed_minor=order.disputed_minor,
        dispute_shortfall_minor=order.dispute_shortfall_minor,
    )


def auto_top_up_pb(a: AutoTopUp) -> pb.AutoTopUp:
    return pb.AutoTopUp(
        account_id=a.account_id,
        enabled=a.enabled,
        threshold_minor=a.threshold_minor,
        blocks=a.blocks,
        max_spend_minor=a.max_spend_minor,
        period_seconds=a.period_seconds,
        spent_in_period_minor=a.spent_in_period_minor,
        consecutive_failures=a.consecutive_failures,
        disabled_reason=a.disabled_reason,
        update_time=timestamp_from_ms(a.update_ms),
    )
