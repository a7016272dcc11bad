"""The one StripeClient: async calls with deterministic idempotency keys, Stripe errors mapped to ours.

Every call, retries included, ends within its budget (STRIPE_CALL_BUDGET_S) and before the calling
RPC's deadline; the library does not retry on its own, so that bound holds.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import quote_plus

import aiohttp
import stripe

from payment_svc import metrics
from payment_svc.config import Settings
from payment_svc.deadline import call_deadline
from payment_svc.errors import CardDeclined, StripeRejected, StripeUnavailable
from svckit import tracing

log = logging.getLogger(__name__)

# The API version every request asks for, whatever the installed library's default. Webhook endpoints
# must be created with the same version, so events have the shape this code reads (see the README).
STRIPE_API_VERSION = "2023-08-16"
MAX_IDEMPOTENCY_KEY_CHARS = 255
_BACKOFF_S = 0.2
_MAX_BACKOFF_S = 2.0
# raw_request_async takes these keyword arguments as request options, not as Stripe parameters.
_OPTION_NAMES = frozenset(
    "api_key stripe_version stripe_account stripe_context max_network_retries idempotency_key "
    "content_type headers base".split()
)


# Calls go through StripeClient.raw_request_async and answer plain dicts, errors still as the library's
# exceptions: the typed services (`client.v1.checkout.sessions.create_async`) built a StripeObject per
# nested hash, which _call turned back into a dict, about 0.2 ms of CPU per call (issue 18).
@dataclass(frozen=True)
class Endpoint:
    """One Stripe API operation: its metrics label (resource.verb, never an id) and its request line."""

    name: str
    method: str
    path: str  # each `{}` takes an id, URL-quoted as the library does


CUSTOMER_CREATE = Endpoint("customer.create", "post", "/v1/customers")
CUSTOMER_UPDATE = Endpoint("customer.update", "post", "/v1/customers/{}")
CUSTOMER_PAYMENT_METHODS = Endpoint("customer_payment_method.list", "get", "/v1/customers/{}/payment_methods")
SESSION_CREATE = Endpoint("checkout.session.create", "post", "/v1/checkout/sessions")
SESSION_RETRIEVE = Endpoint("checkout.session.retrieve", "get", "/v1/checkout/sessions/{}")
PAYMENT_INTENT_CREATE = Endpoint("payment_intent.create", "post", "/v1/payment_intents")
PAYMENT_INTENT_RETRIEVE = Endpoint("payment_intent.retrieve", "get", "/v1/payment_intents/{}")
CHARGE_RETRIEVE = Endpoint("charge.retrieve", "get", "/v1/charges/{}")
DISPUTE_RETRIEVE = Endpoint("dispute.retrieve", "get", "/v1/disputes/{}")
REFUND_CREATE = Endpoint("refund.create", "post", "/v1/refunds")
ENDPOINTS = (
    CUSTOMER_CREATE,
    CUSTOMER_UPDATE,
    CUSTOMER_PAYMENT_METHODS,
    SESSION_CREATE,
    SESSION_RETRIEVE,
    PAYMENT_INTENT_CREATE,
    PAYMENT_INTENT_RETRIEVE,
    CHARGE_RETRIEVE,
    DISPUTE_RETRIEVE,
    REFUND_CREATE,
)


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
        if settings.stripe_secret_key is None:
            raise ValueError("StripeGateway needs STRIPE_SECRET_KEY")
        secret = settings.stripe_secret_key.get_secret_value()
        self.livemode = secret.startswith(("sk_live_", "rk_live_"))
        # aiohttp, not the default httpx: ~1.5 ms less CPU per call, same pooled keep-alive connections.
        self._http = stripe.AIOHTTPClient(timeout=aiohttp.ClientTimeout(total=settings.stripe_timeout_s))
        self._client = stripe.StripeClient(
            secret,
            base_addresses={"api": settings.stripe_api_base} if settings.stripe_api_base else None,
            stripe_version=STRIPE_API_VERSION,
            max_network_retries=0,  # retried in _call, within the budget
            http_client=self._http,
        )
        logging.getLogger("stripe").addFilter(_quiet_below_debug)  # once: the same filter is not added twice
        self._network_retries = settings.stripe_max_network_retries
        self._rate_limit_retries = settings.stripe_rate_limit_retries
        self._budget_s = settings.stripe_call_budget_s

    async def close(self) -> None:
        await self._http.close_async()

    async def create_customer(self, account_id: str) -> str:
        customer = await self._call(
            CUSTOMER_CREATE, {"metadata": {"account_id": account_id}}, key=f"customer-{account_id}"
        )
        return customer["id"]

    async def create_checkout_session(self, params: dict[str, Any], *, key: str) -> CheckoutSession:
        session = await self._call(SESSION_CREATE, params, key=key)
        return CheckoutSession(session["id"], session["url"])

    async def retrieve_checkout_session(self, session_id: str) -> dict[str, Any]:
        """The session as Stripe has it now, with its line items (what was bought, for how much)."""
        return await self._call(SESSION_RETRIEVE, {"expand": ["line_items"]}, session_id)

    async def retrieve_payment_intent(self, payment_intent_id: str) -> dict[str, Any]:
        return await self._call(PAYMENT_INTENT_RETRIEVE, {}, payment_intent_id)

    async def retrieve_charge(self, charge_id: str) -> dict[str, Any]:
        return await self._call(CHARGE_RETRIEVE, {}, charge_id)

    async def retrieve_dispute(self, dispute_id: str) -> dict[str, Any]:
        return await self._call(DISPUTE_RETRIEVE, {}, dispute_id)

    async def charge_off_session(self, params: dict[str, Any], *, key: str) -> dict[str, Any]:
        """Raises CardDeclined or AuthenticationRequired when the card refuses.

        Since API 2023-08-16 a PaymentIntent accepts the Dashboard's payment methods unless told
        otherwise, and confirming one that may redirect needs a return_url. Nobody is present to be
        redirected, so redirects are turned off instead.
        """
        automatic = {"enabled": True, "allow_redirects": "never"}
        return await self._call(
            PAYMENT_INTENT_CREATE,
            {**params, "automatic_payment_methods": automatic, "off_session": True, "confirm": True},
            key=key,
        )

    async def first_card(self, customer_id: str) -> str | None:
        methods = await self._call(CUSTOMER_PAYMENT_METHODS, {"type": "card", "limit": 1}, customer_id)
        return methods["data"][0]["id"] if methods["data"] else None

    async def set_default_payment_method(
        self, customer_id: str, payment_method_id: str, order_id: str
    ) -> None:
        """Keyed by the order that paid with the card: switching A -> B -> A makes three distinct calls."""
        await self._call(
            CUSTOMER_UPDATE,
            {"invoice_settings": {"default_payment_method": payment_method_id}},
            customer_id,
            key=f"default-pm-{order_id}",
        )

    async def refund(self, params: dict[str, Any], *, key: str) -> str:
        refund = await self._call(REFUND_CREATE, params, key=key)
        return refund["id"]

    async def _call(
        self, endpoint: Endpoint, params: dict[str, Any], *ids: str, key: str | None = None
    ) -> dict[str, Any]:
        """Retries connection errors, 5xx, 409 and 429 with the same key while time is left."""
        if key is not None and len(key) > MAX_IDEMPOTENCY_KEY_CHARS:
            raise ValueError(f"idempotency key longer than {MAX_IDEMPOTENCY_KEY_CHARS}: {key!r}")
        if not _OPTION_NAMES.isdisjoint(params):
            raise ValueError(
                f"parameters named like request options: {sorted(_OPTION_NAMES & params.keys())}"
            )
        url = endpoint.path.format(*(quote_plus(i) for i in ids))
        with tracing.span(f"stripe {endpoint.name}", {"stripe.endpoint": endpoint.name}, client=True):
            return await self._retried(endpoint, url, {**params, "idempotency_key": key} if key else params)

    async def _retried(self, endpoint: Endpoint, url: str, params: dict[str, Any]) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        deadline = call_deadline(self._budget_s)
        network_failures = rate_limited = 0
        while True:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise StripeUnavailable("Stripe did not answer in time")
            try:
                with metrics.stripe_call(endpoint.name):
                    async with asyncio.timeout(remaining):
                        response = await self._client.raw_request_async(endpoint.method, url, **params)
                return cast(dict[str, Any], response.data)
            except TimeoutError as err:
                raise StripeUnavailable("Stripe did not answer in time") from err
            except stripe.RateLimitError as err:
                rate_limited += 1
                cause = "rate_limited"
                if rate_limited > self._rate_limit_retries:
                    raise StripeUnavailable("Stripe is rate limiting us") from err
            except (stripe.APIConnectionError, stripe.APIError, stripe.IdempotencyError) as err:
                # IdempotencyError here is 409: the same key is still running at Stripe.
                if isinstance(err, stripe.IdempotencyError) and err.http_status != 409:
                    raise _rejected(err) from err
                network_failures += 1
                cause = "unavailable"
                if network_failures > self._network_retries:
                    log.warning("stripe unreachable: %s", err)
                    raise StripeUnavailable("Stripe cannot be reached") from err
            except stripe.CardError as err:
                raise _card_error(err) from err
            except stripe.StripeError as err:
                # Invalid requests, auth and idempotency errors are final: the same call fails again.
                raise _rejected(err) from err
            metrics.stripe_retried(endpoint.name, cause)
            attempt = network_failures + rate_limited
            await asyncio.sleep(
                min(_BACKOFF_S * 2 ** (attempt - 1), _MAX_BACKOFF_S, max(0.0, deadline - loop.time()))
            )


def _quiet_below_debug(record: logging.LogRecord) -> bool:
    """stripe-python logs each request and response at INFO; at INFO we log only refused, failed and slow
    RPCs (LOG_LEVEL), so its lines under WARNING pass only while DEBUG is on (each costs a write)."""
    return record.levelno >= logging.WARNING or logging.getLogger().isEnabledFor(logging.DEBUG)


def _rejected(err: stripe.StripeError) -> StripeRejected:
    """Stripe's own message stays in our log; callers get its code, not its support boilerplate."""
    log.error("stripe rejected a request: %s", err, extra={"stripe_code": err.code})
    code = err.code or type(err).__name__
    return StripeRejected(f"Stripe refused the request ({code})", metadata={"stripe_code": err.code or ""})


def _card_error(err: stripe.CardError) -> Exception:
    intent = getattr(err.error, "payment_intent", None) if err.error else None
    if err.code == "authentication_required":
        return AuthenticationRequired(intent["id"] if intent else "")
    decline = getattr(err.error, "decline_code", None) if err.error else None
    return CardDeclined(
        "the card was declined", metadata={"decline_code": decline or err.code or "card_declined"}
    )
