"""Each account's Stripe Customer and saved card, created once and remembered."""

from __future__ import annotations

from payment_svc.customer_store import CustomerStore
from payment_svc.errors import PaymentsNotConfigured
from payment_svc.stripe_gateway import StripeGateway


class Customers:
    def __init__(self, store: CustomerStore, stripe: StripeGateway | None) -> None:
        self._store = store
        self._stripe = stripe

    async def ensure(self, account_id: str) -> str:
        """The account's Customer; creating it is idempotent (Stripe key `customer-<account_id>`)."""
        customer_id = await self._store.customer_id(account_id)
        if customer_id:
            return customer_id
        if self._stripe is None:
            raise PaymentsNotConfigured("payments are not configured: STRIPE_SECRET_KEY is unset")
        customer_id = await self._stripe.create_customer(account_id)
        await self._store.keep_first_customer_id(account_id, customer_id)
        return customer_id

    async def saved(self, account_id: str) -> tuple[str | None, str | None]:
        """(customer id, default card) as far as we know them."""
        return await self._store.saved(account_id)

    async def remember_card(self, account_id: str, payment_method_id: str) -> None:
        await self._store.remember_card(account_id, payment_method_id)
