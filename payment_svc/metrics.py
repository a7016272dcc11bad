"""payment_svc's metrics: Stripe calls, webhooks, orders, auto top-ups. Labels are bounded sets, never ids."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

import stripe
from aiohttp import web
from prometheus_client import Counter, Gauge, Histogram

from svckit.metrics import RPC_BUCKETS_S

STRIPE_REQUESTS = Counter(
    "payment_stripe_requests_total",
    "Stripe API calls by endpoint (resource.verb, as checkout.session.create) and outcome: ok, "
    "card_declined, rate_limited, unavailable (connection error or 5xx after the library's retries), "
    "rejected (invalid request, authentication, idempotency).",
    ("endpoint", "outcome"),
)
STRIPE_SECONDS = Histogram(
    "payment_stripe_request_duration_seconds",
    "Time of one Stripe API call as the caller waits for it, the library's own retries included.",
    ("endpoint",),
    buckets=RPC_BUCKETS_S,
)
STRIPE_RETRIES = Counter(
    "payment_stripe_retries_total",
    "Stripe calls repeated with the same idempotency key, by endpoint and cause (rate_limited, or "
    "unavailable: a connection error, 5xx or 409 for the same key still running).",
    ("endpoint", "cause"),
)
WEBHOOK_EVENTS = Counter(
    "payment_webhook_events_total",
    "Verified Stripe events handled, by type (the types payment_svc acts on, else other) and outcome "
    "(the fulfilment path's answer, or duplicate for an event id seen before). Failures are in "
    "payment_webhook_responses_total as 5xx.",
    ("event_type", "outcome"),
)
WEBHOOK_RESPONSES = Counter(
    "payment_webhook_responses_total",
    "Answers to POST /webhooks/stripe by HTTP status code; 5xx makes Stripe retry.",
    ("code",),
)
WEBHOOK_LAG = Histogram(
    "payment_webhook_lag_seconds",
    "Now minus the event's `created`, when a verified event arrives: how far behind Stripe we are.",
    buckets=(1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 4 * 3600, 24 * 3600, 3 * 24 * 3600),
)
ORDER_TRANSITIONS = Counter(
    "payment_order_transitions_total",
    "Orders entering a status (PENDING on creation), by kind (PRODUCT, TOP_UP) and status; a replayed "
    "request that moves nothing is not counted.",
    ("kind", "to_status"),
)
PAID_NOT_FULFILLED = Gauge(
    "payment_orders_paid_not_fulfilled",
    "Orders PAID but not FULFILLED that the reconciliation sweeper's last sweep left that way.",
)
AUTO_TOP_UPS = Counter(
    "payment_auto_top_ups_total",
    "Low-balance events the auto top-up handled, by outcome (topped_up, failed, not_low, busy, "
    "disabled, or the spend cap's verdict).",
    ("outcome",),
)

# At 0 from the start, so the first failure is an increase that an alert can see.
for _code in ("200", "400", "500", "503"):
    WEBHOOK_RESPONSES.labels(_code)
for _outcome in ("topped_up", "failed"):
    AUTO_TOP_UPS.labels(_outcome)

# The event types payment_svc acts on; any other type is counted as `other`, so senders cannot widen it.
HANDLED_EVENT_TYPES = frozenset(
    {
        "checkout.session.completed",
        "checkout.session.async_payment_succeeded",
        "checkout.session.async_payment_failed",
        "checkout.session.expired",
        "payment_intent.succeeded",
        "payment_intent.payment_failed",
        "charge.refunded",
    }
)


@contextmanager
def stripe_call(endpoint: str) -> Iterator[None]:
    """Times one Stripe call and counts it by the outcome its exception (if any) means."""
    started = time.perf_counter()
    outcome = "ok"
    try:
        yield
    except stripe.CardError:
        outcome = "card_declined"
        raise
    except stripe.RateLimitError:
        outcome = "rate_limited"
        raise
    except (stripe.APIConnectionError, stripe.APIError, TimeoutError):
        outcome = "unavailable"
        raise
    except BaseException:
        outcome = "rejected"
        raise
    finally:
        STRIPE_SECONDS.labels(endpoint).observe(time.perf_counter() - started)
        STRIPE_REQUESTS.labels(endpoint, outcome).inc()


def stripe_retried(endpoint: str, cause: str) -> None:
    STRIPE_RETRIES.labels(endpoint, cause).inc()


def webhook_event(event_type: str, outcome: str) -> None:
    WEBHOOK_EVENTS.labels(event_type if event_type in HANDLED_EVENT_TYPES else "other", outcome).inc()


def webhook_lag(created_s: float) -> None:
    WEBHOOK_LAG.observe(max(0.0, time.time() - created_s))


def webhook_responded(status: int) -> None:
    WEBHOOK_RESPONSES.labels(str(status)).inc()


@web.middleware
async def count_webhook_responses(request: web.Request, handler) -> web.StreamResponse:
    """Counts every answer of the webhook server by status, aiohttp's own (413, 404, 500) included."""
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        webhook_responded(exc.status)
        raise
    except Exception:
        webhook_responded(500)
        raise
    webhook_responded(response.status)
    return response


def order_entered(kind: str, status: str) -> None:
    ORDER_TRANSITIONS.labels(kind, status).inc()


def set_paid_not_fulfilled(count: int) -> None:
    PAID_NOT_FULFILLED.set(count)


def auto_top_up(outcome: str) -> None:
    AUTO_TOP_UPS.labels(outcome).inc()
