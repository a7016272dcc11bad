"""Each account's Stripe Customer and saved card, created once and remembered."""

from __future__ import annotations

from payment_svc.customer_store import CustomerStore
from payment_svc.errors import PaymentsNotConfigured
from payment_svc.stripe_gateway import StripeGateway

# Past this many accounts the oldest copies are dropped and read from Redis again (about 20 MB when full).
KNOWN_CUSTOMERS_MAX = 100_000


class Customers:
    def __init__(self, store: CustomerStore, stripe: StripeGateway | None) -> None:
        self._store = store
        self._stripe = stripe
        # Account id -> Customer id, copied from Redis. Redis sets it once and never changes it, so a
        # returning buyer's checkout skips that read; forget_known() drops the copies after a data loss.
        self._known: dict[str, str] = {}

    async def ensure(self, account_id: str) -> str:
        """The account's Customer; creating it is idempotent (Stripe key `customer-<account_id>`)."""
        known = self._known.get(account_id)
        if known is not None:
            return known
        customer_id = await self._store.customer_id(account_id)
        if customer_id:
            self._remember(account_id, customer_id)
            return customer_id
        if self._stripe is None:
            raise PaymentsNotConfigured("payments are not configured: STRIPE_SECRET_KEY is unset")
        # Not copied: Redis keeps the first creator's id (the same, by Stripe's key); the next call reads it.
        customer_id = await self._stripe.create_customer(account_id)
        await self._store.keep_first_customer_id(account_id, customer_id)
        return customer_id

    def forget_known(self) -> None:
        """Called once an operator acknowledged that Redis lost data: its values are the truth again."""
        self._known.clear()

    async def saved(self, account_id: str) -> tuple[str | None, str | None]:
        """(customer id, default card) as far as we know them."""
        return await self._store.saved(account_id)

    async def remember_card(self, account_id: str, payment_method_id: str) -> None:
        await self._store.remember_card(account_id, payment_method_id)

    def _remember(self, account_id: str, customer_id: str) -> None:
        if len(self._known) >= KNOWN_CUSTOMERS_MAX:
            del self._known[next(iter(self._known))]  # the oldest copy
        self._known[account_id] = customer_id
