"""Top-ups charged off-session to the account's saved card."""

from __future__ import annotations

from dataclasses import dataclass

from payment_svc.checkout import Checkout
from payment_svc.checks import check_blocks
from payment_svc.config import Settings
from payment_svc.customers import Customers
from payment_svc.errors import CardDeclined, NoSavedPaymentMethod
from payment_svc.fulfilment import Fulfilment
from payment_svc.order_store import OrderStore
from payment_svc.orders import Order, Status, fingerprint, order_id_for, stripe_metadata
from payment_svc.stripe_gateway import AuthenticationRequired, StripeGateway
from payment_svc.stripe_objects import intent_payment
from svckit.clock import Clock
from svckit.errors import RequestIdReused, Violations
from svckit.validation import check_account_id, check_request_id

_DECLINED = "card_declined"
_AUTHENTICATION_REQUIRED = "authentication_required"


@dataclass(frozen=True)
class SavedCardTopUp:
    order: Order
    action_url: str  # set when the customer must finish the payment on a Checkout page


class SavedCardTopUps:
    def __init__(
        self,
        *,
        settings: Settings,
        orders: OrderStore,
        customers: Customers,
        checkout: Checkout,
        fulfilment: Fulfilment,
        clock: Clock,
    ) -> None:
        self._settings = settings
        self._orders = orders
        self._customers = customers
        self._checkout = checkout
        self._fulfilment = fulfilment
        self._clock = clock

    async def top_up(self, account_id: str, blocks: int, request_id: str) -> SavedCardTopUp:
        """Charges `blocks` blocks; the same request_id never charges twice (Stripe key per order)."""
        v = Violations()
        check_account_id(v, account_id)
        check_blocks(v, blocks, self._settings.topup_max_blocks)
        check_request_id(v, request_id)
        v.raise_if_any()
        stripe = self._checkout.require_stripe()
        order_id = order_id_for(account_id, request_id)
        request = fingerprint("top_up_saved_card", account_id, blocks)
        stored = await self._orders.get(order_id)
        if stored is not None:
            if stored.fingerprint != request:
                raise RequestIdReused("request_id was already used with different parameters")
            if stored.receipt is not None:
                return _answer(stored.receipt)
            if stored.order.failure_reason.startswith(_DECLINED):
                raise CardDeclined("the card was declined")
        await self._checkout.check_top_up_currency(account_id)
        customer_id, card = await self._saved_card(stripe, account_id)
        if stored is None:
            order = self._checkout.top_up_order(order_id, account_id, blocks)
            _, stored = await self._orders.create(order, request)
            await self._orders.index(stored.order)
        order = stored.order
        metadata = {**stripe_metadata(order), "channel": "off_session"}
        params = {
            "amount": order.amount_minor,
            "currency": order.currency.lower(),
            "customer": customer_id,
            "payment_method": card,
            "description": f"Balance top-up {order_id}",
            "metadata": metadata,
        }
        try:
            intent = await stripe.charge_off_session(params, key=f"topup-pi-{order_id}")
        except CardDeclined as err:
            await self._fulfilment.failed(order_id, f"{_DECLINED}:{err.metadata.get('decline_code', '')}")
            raise
        except AuthenticationRequired as err:
            await self._record(order_id, customer_id, err.payment_intent_id)
            await self._fulfilment.requires_action(order_id, _AUTHENTICATION_REQUIRED)
            action = await self._checkout.open_session(
                order,
                self._settings.topup_action_success_url,
                self._settings.topup_action_cancel_url,
            )
            return _answer(action)
        await self._record(order_id, customer_id, intent["id"])
        if intent["status"] == "succeeded":
            await self._fulfilment.paid(order_id, intent_payment(intent))
        elif intent["status"] in ("requires_payment_method", "canceled"):
            await self._fulfilment.failed(order_id, intent["status"])
        # Anything else (processing) settles later through payment_intent.* webhooks or the sweeper.
        return _answer(await self._checkout.freeze(order_id))

    async def _saved_card(self, stripe: StripeGateway, account_id: str) -> tuple[str, str]:
        """(customer, card) to charge; a card saved on Stripe before we knew of it is remembered now."""
        customer_id, card = await self._customers.saved(account_id)
        if customer_id and not card:
            card = await stripe.first_card(customer_id)
            if card:
                await self._customers.remember_card(account_id, card)
        if not customer_id or not card:
            raise NoSavedPaymentMethod("the account has no saved card; top up through Checkout first")
        return customer_id, card

    async def _record(self, order_id: str, customer_id: str, payment_intent_id: str) -> None:
        fill = {"stripe_customer_id": customer_id, "stripe_payment_intent_id": payment_intent_id}
        await self._orders.link(order_id, payment_intent_id=payment_intent_id)
        await self._orders.update(order_id, self._clock.now_ms(), fill=fill)


def _answer(order: Order) -> SavedCardTopUp:
    action_url = order.checkout_url if order.status == Status.REQUIRES_ACTION else ""
    return SavedCardTopUp(order, action_url)
