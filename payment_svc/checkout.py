"""Creating orders and their Stripe Checkout sessions, for the product and for top-up blocks."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pricing.v1 import pricing_service_pb2

from payment_svc.checks import check_blocks, check_url
from payment_svc.config import Settings
from payment_svc.customers import Customers
from payment_svc.errors import CurrencyMismatch, OrderNotFound, PaymentsNotConfigured, peer_rejected
from payment_svc.fulfilment import Fulfilment, reserve_request_id
from payment_svc.order_store import OrderStore, StoredOrder
from payment_svc.orders import OPEN, Kind, Order, Status, fingerprint, order_id_for, stripe_metadata
from payment_svc.ports import Balance, Pricing
from payment_svc.product_names import ProductNames
from payment_svc.stripe_gateway import StripeGateway
from svckit import tracing
from svckit.clock import Clock
from svckit.errors import RequestIdReused, ServiceError, Violations
from svckit.logs import correlation_id_var
from svckit.validation import check_account_id, check_request_id

_PRICING_MAX_RESERVATION_S = 2 * 86400
STRIPE_MIN_SESSION_S = 30 * 60  # Stripe's window for a Checkout Session's expires_at
STRIPE_MAX_SESSION_S = 24 * 3600
_SESSION_SLACK_S = 60  # our clock and Stripe's, and the time the request takes


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
        pricing: Pricing,
        product_names: ProductNames,
        balance: Balance,
        customers: Customers,
        stripe: StripeGateway | None,
        fulfilment: Fulfilment,
        clock: Clock,
    ) -> None:
        self._settings = settings
        self._orders = orders
        self._pricing = pricing
        self._product_names = product_names
        self._balance = balance
        self._customers = customers
        self._stripe = stripe
        self._fulfilment = fulfilment
        self._clock = clock

    def require_stripe(self) -> StripeGateway:
        if self._stripe is None:
            raise PaymentsNotConfigured("payments are not configured: STRIPE_SECRET_KEY is unset")
        return self._stripe

    async def buy_product(self, p: ProductPurchase) -> Order:
        """Quote, create the order, reserve the code, then open its session (or fulfil it if free)."""
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
            quote = await self._pricing.get_quote(
                p.product_id, discount_code=p.discount_code, account_id=p.account_id
            )
            if p.discount_code and quote.code_not_applied_reason:
                reason = quote.code_not_applied_reason
                raise peer_rejected(
                    "FAILED_PRECONDITION", reason, f"the discount code cannot be used: {reason}"
                )
            # Our price already includes our code; Stripe's promotion codes would lower it again (and
            # Stripe forbids them next to `discounts`), so they are offered only on undiscounted products.
            promotion = self._settings.allow_promotion_codes and not quote.discount_code
            order = self._new_order(
                order_id,
                p.account_id,
                Kind.PRODUCT,
                quote.final_amount_minor,
                quote.currency,
                product_id=p.product_id,
                quote=quote.SerializeToString(),
                discount_code=quote.discount_code,
                promotion_codes=int(promotion and quote.final_amount_minor > 0),
            )
            stored = await self._create(order, request)
        if stored.receipt is not None:
            return stored.receipt
        if stored.order.status not in OPEN:
            return await self.freeze(order_id)  # closed meanwhile (the sweeper): no new session for it
        if stored.order.is_free:
            await self._reserve_code(stored.order)
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
        if stored is not None and stored.receipt is not None:
            return stored.receipt
        await self.check_top_up_currency(p.account_id)
        if stored is None:
            stored = await self._create(self.top_up_order(order_id, p.account_id, p.blocks), request)
        if stored.order.status not in OPEN:
            return await self.freeze(order_id)
        return await self.open_session(stored.order, p.success_url, p.cancel_url)

    async def check_top_up_currency(self, account_id: str) -> None:
        """A top-up the balance could not take in its currency is refused before anything is charged."""
        fixed = await self._fixed_currency(account_id)
        if fixed is not None and fixed != self._settings.topup_currency:
            raise CurrencyMismatch(
                f"the account's balance is in {fixed}; top-ups are in {self._settings.topup_currency}"
            )

    async def _fixed_currency(self, account_id: str) -> str | None:
        """The account's currency once its first credit fixed it; None for an account never credited."""
        balance = await self._balance.get_balance(account_id)
        if balance.balance_minor or balance.held_minor:
            return balance.currency
        listed = await self._balance.list_transactions(account_id, page_size=1)
        return balance.currency if listed.transactions else None

    def top_up_order(self, order_id: str, account_id: str, blocks: int) -> Order:
        amount = blocks * self._settings.topup_block_minor
        return self._new_order(
            order_id, account_id, Kind.TOP_UP, amount, self._settings.topup_currency, blocks=blocks
        )

    async def open_session(self, order: Order, success_url: str, cancel_url: str) -> Order:
        """Opens the order's Checkout session (idempotent per attempt) and freezes the response.

        If it fails before a session exists, the code reservation is given back at once, so nobody
        (this buyer retrying included) waits for it to lapse.
        """
        stripe = self.require_stripe()
        expires_at_s = await self._session_expiry(order)
        await self._reserve_code(order, expires_at_s)
        try:
            customer_id = order.stripe_customer_id or await self._customers.ensure(order.account_id)
            params = self._session_params(order, customer_id, success_url, cancel_url, expires_at_s)
            params["line_items"][0]["price_data"]["product_data"]["name"] = await self._item_name(order)
            session = await stripe.create_checkout_session(
                params, key=f"checkout-{order.order_id}-{expires_at_s}"
            )
        except ServiceError:
            if order.discount_code:
                await self._fulfilment.release_code(order)
                await self._orders.bump_code_attempt(order.order_id)
            raise
        await self._orders.link(order.order_id, session_id=session.session_id)
        fill = {
            "stripe_customer_id": customer_id,
            "stripe_checkout_session_id": session.session_id,
            "checkout_url": session.url,
        }
        return await self.freeze(order.order_id, fill)

    async def freeze(self, order_id: str, fill: Mapping[str, object] | None = None) -> Order:
        """Freezes the order as it is now as the response every retry of its RPC gets."""
        result = await self._orders.update(order_id, self._clock.now_ms(), fill=fill, receipt=True)
        if result is None or result.stored.receipt is None:
            raise OrderNotFound(f"order {order_id} disappeared")
        return result.stored.receipt

    async def _session_expiry(self, order: Order) -> int:
        """expires_at for a session opened now: the order's, or a later one once too little is left."""
        now_s = self._clock.now_ms() // 1000
        earliest = now_s + STRIPE_MIN_SESSION_S + _SESSION_SLACK_S
        if order.session_expires_at_s >= earliest:
            return order.session_expires_at_s
        proposed = min(max(now_s + self._settings.checkout_expiry_s, earliest), now_s + STRIPE_MAX_SESSION_S)
        return await self._orders.renew_session_expiry(order.order_id, order.session_expires_at_s, proposed)

    async def _reserve_code(self, order: Order, expires_at_s: int | None = None) -> None:
        if not order.discount_code:
            return
        now_s = self._clock.now_ms() // 1000
        ttl_s = (expires_at_s or now_s) - now_s + self._settings.code_reservation_grace_s
        await self._pricing.reserve_discount_code(
            order.discount_code,
            order_id=order.order_id,
            account_id=order.account_id,
            product_id=order.product_id,
            ttl_seconds=max(1, min(ttl_s, _PRICING_MAX_RESERVATION_S)),
            request_id=reserve_request_id(order),
        )

    async def _item_name(self, order: Order) -> str:
        if order.kind == Kind.TOP_UP:
            return f"Balance top-up: {order.blocks} block{'s' if order.blocks > 1 else ''}"
        version = pricing_service_pb2.Quote.FromString(order.quote).config_version if order.quote else -1
        return await self._product_names.display_name(order.product_id, version)

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
            correlation_id=correlation_id_var.get(),
            traceparent=tracing.traceparent(),
            **extra,
        )

    def _session_params(
        self, order: Order, customer_id: str, success_url: str, cancel_url: str, expires_at_s: int
    ) -> dict[str, Any]:
        metadata = stripe_metadata(order)
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
                        "product_data": {"name": order.product_id},
                    },
                }
            ],
            # Saves the card on the Customer so later top-ups can charge it off-session.
            "payment_intent_data": {
                "setup_future_usage": "off_session",
                "metadata": {**metadata, "channel": "checkout"},
            },
            "expires_at": expires_at_s,
            "success_url": success_url,
            "cancel_url": cancel_url,
        }
        if order.promotion_codes:
            params["allow_promotion_codes"] = True
        return params
