"""The one StripeClient: async calls with deterministic idempotency keys, Stripe errors mapped to ours."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import stripe

from payment_svc.config import Settings
from payment_svc.errors import CardDeclined, StripeRejected, StripeUnavailable

log = logging.getLogger(__name__)

MAX_IDEMPOTENCY_KEY_CHARS = 255


class AuthenticationRequired(Exception):
    """The bank wants the customer present; `payment_intent_id` is the intent that stopped."""

    def __init__(self, payment_intent_id: str) -> None:
        super().__init__("authentication_required")
        self.payment_intent_id = payment_intent_id


@dataclass(frozen=True)
class CheckoutSession:
    session_id: str
    url: str


class StripeGateway:
    """Every call is idempotent: POSTs carry the caller's key, so a retry returns Stripe's first answer."""

    def __init__(self, settings: Settings) -> None:
        assert settings.stripe_secret_key is not None
        self._http = stripe.HTTPXClient(timeout=settings.stripe_timeout_s)
        base = {"api": settings.stripe_api_base} if settings.stripe_api_base else None
        self._client = stripe.StripeClient(
            settings.stripe_secret_key.get_secret_value(),
            base_addresses=base,
            max_network_retries=settings.stripe_max_network_retries,
            http_client=self._http,
        )
        self._rate_limit_retries = settings.stripe_rate_limit_retries

    async def close(self) -> None:
        await self._http.close_async()

    async def create_customer(self, account_id: str) -> str:
        customer = await self._call(
            self._client.v1.customers.create_async,
            {"metadata": {"account_id": account_id}},
            key=f"customer-{account_id}",
        )
        return customer["id"]

    async def create_checkout_session(self, params: dict[str, Any], *, key: str) -> CheckoutSession:
        session = await self._call(self._client.v1.checkout.sessions.create_async, params, key=key)
        return CheckoutSession(session["id"], session["url"])

    async def retrieve_checkout_session(self, session_id: str) -> dict[str, Any]:
        return await self._call(self._client.v1.checkout.sessions.retrieve_async, session_id)

    async def retrieve_payment_intent(self, payment_intent_id: str) -> dict[str, Any]:
        return await self._call(self._client.v1.payment_intents.retrieve_async, payment_intent_id)

    async def charge_off_session(self, params: dict[str, Any], *, key: str) -> dict[str, Any]:
        """Raises CardDeclined or AuthenticationRequired when the card refuses."""
        return await self._call(
            self._client.v1.payment_intents.create_async,
            {**params, "off_session": True, "confirm": True},
            key=key,
        )

    async def first_card(self, customer_id: str) -> str | None:
        methods = await self._call(
            self._client.v1.customers.payment_methods.list_async, customer_id, {"type": "card", "limit": 1}
        )
        return methods["data"][0]["id"] if methods["data"] else None

    async def set_default_payment_method(self, customer_id: str, payment_method_id: str) -> None:
        await self._call(
            self._client.v1.customers.update_async,
            customer_id,
            {"invoice_settings": {"default_payment_method": payment_method_id}},
            key=f"default-pm-{customer_id}-{payment_method_id}",
        )

    async def refund(self, params: dict[str, Any], *, key: str) -> str:
        refund = await self._call(self._client.v1.refunds.create_async, params, key=key)
        return refund["id"]

    async def _call(self, method: Callable[..., Awaitable[Any]], *args, key: str | None = None) -> dict:
        """The library retries connection errors and 5xx itself; 429 is retried here with the same key."""
        assert key is None or len(key) <= MAX_IDEMPOTENCY_KEY_CHARS
        options = {"idempotency_key": key} if key else None
        for attempt in range(self._rate_limit_retries + 1):
            try:
                result = await (method(*args, options=options) if options else method(*args))
                return result.to_dict()
            except stripe.RateLimitError as err:
                if attempt == self._rate_limit_retries:
                    raise StripeUnavailable(f"Stripe is rate limiting us: {err.user_message}") from err
                await asyncio.sleep(0.2 * 2**attempt)
            except stripe.CardError as err:
                raise _card_error(err) from err
            except (stripe.APIConnectionError, stripe.APIError) as err:
                raise StripeUnavailable(f"Stripe cannot be reached: {err.user_message or err}") from err
            except stripe.StripeError as err:
                # Invalid requests, auth and idempotency errors are final: the same call fails again.
                log.error("stripe rejected a request: %s", err, extra={"stripe_code": err.code})
                raise StripeRejected(
                    f"Stripe rejected the request: {err.user_message or err}",
                    metadata={"stripe_code": err.code or ""},
                ) from err
        raise AssertionError("unreachable")


def _card_error(err: stripe.CardError) -> Exception:
    intent = getattr(err.error, "payment_intent", None) if err.error else None
    if err.code == "authentication_required":
        return AuthenticationRequired(intent["id"] if intent else "")
    decline = getattr(err.error, "decline_code", None) if err.error else None
    return CardDeclined(
        f"the card was declined: {err.user_message}",
        metadata={"decline_code": decline or err.code or "card_declined"},
    )
