"""Creating orders and their Stripe Checkout sessions, for the product and for top-up blocks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from payment_svc.checks import check_blocks, check_url
from payment_svc.config import Settings
from payment_svc.customers import Customers
from payment_svc.errors import PaymentsNotConfigured, PeerRejected
from payment_svc.fulfilment import Fulfilment
from payment_svc.order_store import OrderStore, StoredOrder
from payment_svc.orders import Kind, Order, Status, fingerprint, order_id_for
from payment_svc.peers import PricingClient
from payment_svc.stripe_gateway import StripeGateway
from svckit.clock import Clock
from svckit.errors import RequestIdReused, Violations
from svckit.validation import check_account_id, check_request_id

_PRICING_MAX_RESERVATION_S = 2 * 86400


@dataclass(frozen=True)
class ProductPurchase:
    account_id: str
    product_id: str
    discount_code: str
    success_url: str
    cancel_url: str
    request_id: str


@dataclass(frozen=True)
class TopUpPurchase:
    account_id: str
    blocks: int
    success_url: str
    cancel_url: str
    request_id: str


def _checked_purchase(account_id: str, success_url: str, cancel_url: str, request_id: str) -> Violations:
    """The checks every Checkout purchase shares; the caller adds its own and raises."""
    v = Violations()
    check_account_id(v, account_id)
    check_url(v, success_url, "success_url")
    check_url(v, cancel_url, "cancel_url")
    check_request_id(v, request_id)
    return v


class Checkout:
    def __init__(
        self,
        *,
        settings: Settings,
        orders: OrderStore,
        pricing: PricingClient,
        customers: Customers,
        stripe: StripeGateway | None,
        fulfilment: Fulfilment,
        clock: Clock,
    ) -> None:
        self._settings = settings
        self._orders = orders
        self._pricing = pricing
        self._customers = customers
        self._stripe = stripe
        self._fulfilment = fulfilment
        self._clock = clock

    def require_stripe(self) -> StripeGateway:
        if self._stripe is None:
            raise PaymentsNotConfigured("payments are not configured: STRIPE_SECRET_KEY is unset")
        return self._stripe

    async def buy_product(self, p: ProductPurchase) -> Order:
        """Quote, reserve the code, create the order, then open its session (or fulfil it if free)."""
        v = _checked_purchase(p.account_id, p.success_url, p.cancel_url, p.request_id)
        v.check(0 < len(p.product_id) <= 64, "product_id", "must be 1-64 characters")
        v.check(len(p.discount_code) <= 32, "discount_code", "must be at most 32 characters")
        v.raise_if_any()
        self.require_stripe()
        order_id = order_id_for(p.account_id, p.request_id)
        request = fingerprint(
            "product", p.account_id, p.product_id, p.discount_code.upper(), p.success_url, p.cancel_url
        )
        stored = await self._existing(order_id, request)
        if stored is None:
            quote = await self._pricing.quote(p.product_id, p.discount_code, p.account_id)
            if p.discount_code and quote.code_not_applied_reason:
                reason = quote.code_not_applied_reason
                raise PeerRejected(
                    "FAILED_PRECONDITION", reason, f"the discount code cannot be used: {reason}"
                )
            if quote.discount_code:
                ttl_s = self._settings.checkout_expiry_s + self._settings.code_reservation_grace_s
                await self._pricing.reserve_code(
                    quote.discount_code,
                    order_id,
                    p.account_id,
                    p.product_id,
                    min(ttl_s, _PRICING_MAX_RESERVATION_S),
                )
            order = self._new_order(
                order_id,
                p.account_id,
                Kind.PRODUCT,
                quote.final_amount_minor,
                quote.currency,
                product_id=p.product_id,
                quote=quote.SerializeToString(),
                discount_code=quote.discount_code,
            )
            stored = await self._create(order, request)
        if stored.receipt is not None:
            return stored.receipt
        if stored.order.is_free:
            await self._fulfilment.paid(order_id)
            return await self.freeze(order_id)
        return await self.open_session(stored.order, p.success_url, p.cancel_url)

    async def buy_top_up(self, p: TopUpPurchase) -> Order:
        v = _checked_purchase(p.account_id, p.success_url, p.cancel_url, p.request_id)
        check_blocks(v, p.blocks, self._settings.topup_max_blocks)
        v.raise_if_any()
        self.require_stripe()
        order_id = order_id_for(p.account_id, p.request_id)
        request = fingerprint("top_up", p.account_id, p.blocks, p.success_url, p.cancel_url)
        stored = await self._existing(order_id, request)
        if stored is None:
            stored = await self._create(self.top_up_order(order_id, p.account_id, p.blocks), request)
        if stored.receipt is not None:
            return stored.receipt
        return await self.open_session(stored.order, p.success_url, p.cancel_url)

    def top_up_order(self, order_id: str, account_id: str, blocks: int) -> Order:
        amount = blocks * self._settings.topup_block_minor
        return self._new_order(
            order_id, account_id, Kind.TOP_UP, amount, self._settings.topup_currency, blocks=blocks
        )

    async def open_session(self, order: Order, success_url: str, cancel_url: str) -> Order:
        """Opens the order's Checkout session (idempotent per order) and freezes the response."""
        stripe = self.require_stripe()
        customer_id = order.stripe_customer_id or await self._customers.ensure(order.account_id)
        session = await stripe.create_checkout_session(
            self._session_params(order, customer_id, success_url, cancel_url),
            key=f"checkout-{order.order_id}",
        )
        fill = {
            "stripe_customer_id": customer_id,
            "stripe_checkout_session_id": session.session_id,
            "checkout_url": session.url,
        }
        result = await self._orders.update(order.order_id, self._clock.now_ms(), fill=fill, receipt=True)
        assert result is not None
        assert result[1].receipt is not None
        return result[1].receipt

    async def freeze(self, order_id: str) -> Order:
        """Freezes the order as it is now as the response every retry of its RPC gets."""
        result = await self._orders.update(order_id, self._clock.now_ms(), receipt=True)
        assert result is not None
        assert result[1].receipt is not None
        return result[1].receipt

    async def _existing(self, order_id: str, request: str) -> StoredOrder | None:
        stored = await self._orders.get(order_id)
        if stored is not None and stored.fingerprint != request:
            raise RequestIdReused("request_id was already used with different parameters")
        return stored

    async def _create(self, order: Order, request: str) -> StoredOrder:
        _, stored = await self._orders.create(order, request)
        await self._orders.index(stored.order)
        return stored

    def _new_order(
        self, order_id: str, account_id: str, kind: Kind, amount_minor: int, currency: str, **extra: Any
    ) -> Order:
        now_ms = self._clock.now_ms()
        return Order(
            order_id=order_id,
            account_id=account_id,
            kind=kind,
            status=Status.PENDING,
            amount_minor=amount_minor,
            currency=currency,
            session_expires_at_s=now_ms // 1000 + self._settings.checkout_expiry_s,
            create_ms=now_ms,
            update_ms=now_ms,
            **extra,
        )

    def _session_params(
        self, order: Order, customer_id: str, success_url: str, cancel_url: str
    ) -> dict[str, Any]:
        metadata = {"order_id": order.order_id, "account_id": order.account_id, "kind": order.kind.value}
        if order.kind == Kind.PRODUCT:
            name = order.product_id
        else:
            name = f"Balance top-up: {order.blocks} block{'s' if order.blocks > 1 else ''}"
        params: dict[str, Any] = {
            "mode": "payment",
            "customer": customer_id,
            "client_reference_id": order.order_id,
            "metadata": metadata,
            "line_items": [
                {
                    "quantity": 1,
                    "price_data": {
                        "currency": order.currency.lower(),
                        "unit_amount": order.amount_minor,
                        "product_data": {"name": name},
                    },
                }
            ],
            # Saves the card on the Customer so later top-ups can charge it off-session.
            "payment_intent_data": {
                "setup_future_usage": "off_session",
                "metadata": {**metadata, "channel": "checkout"},
            },
            "expires_at": order.session_expires_at_s,
            "success_url": success_url,
            "cancel_url": cancel_url,
        }
        # Our price already includes our code; Stripe's promotion codes would lower it again (and
        # Stripe forbids them next to `discounts`), so they are offered only on undiscounted products.
        if order.kind == Kind.PRODUCT and not order.discount_code and self._settings.allow_promotion_codes:
            params["allow_promotion_codes"] = True
        return params
