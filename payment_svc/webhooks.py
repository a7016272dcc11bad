"""Stripe events in: signature check, deduplication by event id and dispatch to the fulfilment path."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import stripe

from payment_svc.errors import InvalidWebhook, WebhooksNotConfigured
from payment_svc.fulfilment import Fulfilment
from svckit.redis_client import RedisClient, tagged_key

log = logging.getLogger(__name__)

_PAID_STATUSES = ("paid", "no_payment_required")


@dataclass(frozen=True)
class WebhookResult:
    event_id: str
    event_type: str
    duplicate: bool
    outcome: str


class WebhookProcessor:
    """Shared by POST /webhooks/stripe and the HandleStripeEvent RPC."""

    def __init__(
        self,
        *,
        secrets: list[str],
        tolerance_s: int,
        max_body_bytes: int,
        dedupe_ttl_s: int,
        redis: RedisClient,
        fulfilment: Fulfilment,
    ) -> None:
        self._secrets = secrets
        self._tolerance_s = tolerance_s
        self._max_body_bytes = max_body_bytes
        self._dedupe_ttl_s = dedupe_ttl_s
        self._redis = redis
        self._fulfilment = fulfilment

    async def handle(self, payload: bytes, signature: str) -> WebhookResult:
        """Raises InvalidWebhook or WebhooksNotConfigured (nothing changes) or Unavailable (retry)."""
        event = self._verify(payload, signature)
        event_id, event_type = event["id"], event["type"]
        # The id is recorded after the effect: a crash in between replays effects that are idempotent.
        done = await self._redis.get(_event_key(event_id))
        if done is not None:
            return WebhookResult(event_id, event_type, True, done)
        outcome = await self._dispatch(event_type, event["data"]["object"])
        if outcome == "unknown_order":
            log.warning("stripe event for an order we do not know", extra={"event_id": event_id})
        await self._redis.set(_event_key(event_id), outcome, ex=self._dedupe_ttl_s)
        return WebhookResult(event_id, event_type, False, outcome)

    def _verify(self, payload: bytes, signature: str) -> dict[str, Any]:
        if not self._secrets:
            raise WebhooksNotConfigured("webhooks are not configured: STRIPE_WEBHOOK_SECRET is unset")
        if len(payload) > self._max_body_bytes:
            raise InvalidWebhook(f"the body is larger than {self._max_body_bytes} bytes")
        for secret in self._secrets:
            try:
                event = stripe.Webhook.construct_event(payload, signature, secret, self._tolerance_s)
                break
            except stripe.SignatureVerificationError:
                continue
            except ValueError as err:  # signed, but not UTF-8 JSON
                raise InvalidWebhook(f"the body is not a JSON event: {err}") from err
        else:
            raise InvalidWebhook("the Stripe-Signature does not match, or its timestamp is too old")
        # construct_event only bounds the past; a timestamp far ahead means a bad clock or a replay setup.
        if _timestamp(signature) > time.time() + self._tolerance_s:
            raise InvalidWebhook("the Stripe-Signature timestamp is in the future")
        body = event.to_dict()
        data = body.get("data")
        if not (
            isinstance(body.get("id"), str)
            and isinstance(body.get("type"), str)
            and isinstance(data, dict)
            and isinstance(data.get("object"), dict)
        ):
            raise InvalidWebhook("the body is not a Stripe event")
        return body

    async def _dispatch(self, event_type: str, obj: Mapping[str, Any]) -> str:
        f = self._fulfilment
        if event_type.startswith("checkout.session."):
            order_id = (obj.get("metadata") or {}).get("order_id") or obj.get("client_reference_id")
            if not order_id:
                return "unknown_order"
            intent = _id(obj.get("payment_intent"))
            if event_type in ("checkout.session.completed", "checkout.session.async_payment_succeeded"):
                if obj.get("payment_status") in _PAID_STATUSES:
                    return await f.paid(order_id, payment_intent_id=intent)
                return "awaiting_payment"  # e.g. a bank debit: async_payment_* follows
            if event_type == "checkout.session.async_payment_failed":
                return await f.failed(order_id, "async_payment_failed")
            if event_type == "checkout.session.expired":
                return await f.expired(order_id)
        elif event_type.startswith("payment_intent."):
            metadata = obj.get("metadata") or {}
            order_id = metadata.get("order_id")
            if not order_id:
                return "unknown_order"
            if event_type == "payment_intent.succeeded":
                return await f.paid(
                    order_id, payment_intent_id=obj["id"], payment_method_id=_id(obj.get("payment_method"))
                )
            if event_type == "payment_intent.payment_failed":
                # A failed attempt on a Checkout page can be retried there; only off-session charges end.
                if metadata.get("channel") != "off_session":
                    return "ignored_checkout_attempt"
                code = (obj.get("last_payment_error") or {}).get("code") or "payment_failed"
                if code == "authentication_required":
                    return await f.requires_action(order_id, code)
                return await f.failed(order_id, code)
        elif event_type == "charge.refunded":
            intent = _id(obj.get("payment_intent"))
            order_id = (obj.get("metadata") or {}).get("order_id")
            order_id = order_id or (intent and await f.order_for_payment_intent(intent))
            if not order_id:
                return "unknown_order"
            return await f.refunded(order_id, int(obj.get("amount_refunded") or 0), intent)
        return "ignored"


def _event_key(event_id: str) -> str:
    return tagged_key("pay:event", event_id)


def _id(value: object) -> str:
    """An expandable field: an id, or the expanded object carrying it."""
    if isinstance(value, dict):
        return value.get("id") or ""
    return value if isinstance(value, str) else ""


def _timestamp(signature: str) -> int:
    for item in signature.split(","):
        key, _, value = item.partition("=")
        if key.strip() == "t":
            return int(value)
    return 0
