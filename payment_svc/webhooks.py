"""Stripe events in: signature check, deduplication by event id and dispatch through the handler table."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import stripe

from payment_svc import metrics
from payment_svc.errors import InvalidWebhook, WebhooksNotConfigured
from payment_svc.outcomes import Outcome
from payment_svc.webhook_event_store import WebhookEventStore
from svckit import tracing
from svckit.errors import ServiceError, Unavailable
from svckit.logs import adopt_correlation_id

log = logging.getLogger(__name__)

Handler = Callable[[Mapping[str, Any]], Awaitable[Outcome]]


@dataclass(frozen=True)
class WebhookResult:
    event_id: str
    event_type: str
    duplicate: bool
    outcome: Outcome


class WebhookProcessor:
    """Shared by POST /webhooks/stripe and the HandleStripeEvent RPC."""

    def __init__(
        self,
        *,
        secrets: list[str],
        tolerance_s: int,
        max_body_bytes: int,
        events: WebhookEventStore,
        handlers: Mapping[str, Handler],
    ) -> None:
        self._secrets = secrets
        self._tolerance_s = tolerance_s
        self._max_body_bytes = max_body_bytes
        self._events = events
        self._handlers = handlers

    async def handle(self, payload: bytes, signature: str) -> WebhookResult:
        """Raises InvalidWebhook or WebhooksNotConfigured (nothing changes) or Unavailable (retry)."""
        event = self._verify(payload, signature)
        event_id, event_type = event["id"], event["type"]
        # Our metadata on the Stripe object names the action (the checkout) the event belongs to.
        metadata = event["data"]["object"].get("metadata")
        metadata = metadata if isinstance(metadata, dict) else {}
        adopt_correlation_id(metadata.get("correlation_id") or event_id)
        tracing.link_to(metadata.get("traceparent"))  # this delivery's trace -> the checkout's
        if isinstance(event.get("created"), int | float):
            metrics.webhook_lag(event["created"])
        # The id is recorded after the effect: a crash in between replays effects that are idempotent.
        done = await self._events.outcome(event_id)
        if done is not None:
            metrics.webhook_event(event_type, "duplicate")
            return WebhookResult(event_id, event_type, True, _known(done))
        handler = self._handlers.get(event_type)
        try:
            outcome = Outcome.IGNORED if handler is None else await handler(event["data"]["object"])
        except (Unavailable, InvalidWebhook):
            raise
        except ServiceError as err:
            # A lasting refusal (a peer's or Stripe's verdict) would fail the same way on every retry:
            # acknowledged and left to an operator, never a 5xx loop.
            log.error("stripe event not applied: %s", err, extra={"event_id": event_id, "reason": err.reason})
            outcome = Outcome.NOT_APPLIED
        if outcome == Outcome.UNKNOWN_ORDER:
            log.warning("stripe event for an order we do not know", extra={"event_id": event_id})
        await self._events.record(event_id, outcome.value)
        metrics.webhook_event(event_type, outcome.value)
        return WebhookResult(event_id, event_type, False, outcome)

    def _verify(self, payload: bytes, signature: str) -> dict[str, Any]:
        if not self._secrets:
            raise WebhooksNotConfigured("webhooks are not configured: STRIPE_WEBHOOK_SECRET is unset")
        if len(payload) > self._max_body_bytes:
            raise InvalidWebhook(f"the body is larger than {self._max_body_bytes} bytes")
        for secret in self._secrets:
            try:
                stripe.WebhookSignature.verify_header(payload, signature, secret, self._tolerance_s)
                break
            except stripe.SignatureVerificationError:
                continue
            except (ValueError, UnicodeDecodeError) as err:  # e.g. a body that is not UTF-8
                raise InvalidWebhook("the body is not a JSON event") from err
        else:
            raise InvalidWebhook("the Stripe-Signature does not match, or its timestamp is too old")
        # verify_header only bounds the past; a timestamp far ahead means a bad clock or a replay setup.
        if _timestamp(signature) > time.time() + self._tolerance_s:
            raise InvalidWebhook("the Stripe-Signature timestamp is in the future")
        return _event(payload)


def _event(payload: bytes) -> dict[str, Any]:
    """A signed body read as a Stripe event: an id, a type and a data object, or InvalidWebhook."""
    try:
        body = json.loads(payload)
    except (ValueError, UnicodeDecodeError) as err:
        raise InvalidWebhook("the body is not a JSON event") from err
    data = body.get("data") if isinstance(body, dict) else None
    if not (
        isinstance(body, dict)
        and isinstance(body.get("id"), str)
        and isinstance(body.get("type"), str)
        and isinstance(data, dict)
        and isinstance(data.get("object"), dict)
    ):
        raise InvalidWebhook("the body is not a Stripe event")
    return body


def _known(recorded: str) -> Outcome:
    """An outcome recorded before this version may have another name: read it as ignored."""
    try:
        return Outcome(recorded)
    except ValueError:
        return Outcome.IGNORED


def _timestamp(signature: str) -> int:
    for item in signature.split(","):
        key, _, value = item.partition("=")
        if key.strip() == "t":
            try:
                return int(value)
            except ValueError:
                return 0
    return 0
