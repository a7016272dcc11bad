"""Typed reads of Stripe objects: a field of the wrong type is InvalidWebhook, never a crash or a guess."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from payment_svc.errors import InvalidWebhook

_PAID_SESSION = ("paid", "no_payment_required")


def text(obj: Mapping[str, Any], name: str) -> str:
    """A string field that must be present."""
    value = obj.get(name)
    if not isinstance(value, str) or not value:
        raise InvalidWebhook(f"{name} must be a non-empty string")
    return value


def optional_text(obj: Mapping[str, Any], name: str) -> str:
    value = obj.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidWebhook(f"{name} must be a string")
    return value


def integer(obj: Mapping[str, Any], name: str, default: int | None = None) -> int:
    value = obj.get(name, default)
    if value is None and default is not None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidWebhook(f"{name} must be an integer")
    return value


def mapping(obj: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    """An optional hash field; absent or null reads as empty."""
    value = obj.get(name)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidWebhook(f"{name} must be an object")
    return value


def expandable_id(obj: Mapping[str, Any], name: str) -> str:
    """An expandable field: an id, or the expanded object carrying it."""
    value = obj.get(name)
    if isinstance(value, dict):
        return optional_text(value, "id")
    if value is None or isinstance(value, str):
        return value or ""
    raise InvalidWebhook(f"{name} must be an id or an object")


def boolean(obj: Mapping[str, Any], name: str) -> bool:
    value = obj.get(name)
    if not isinstance(value, bool):
        raise InvalidWebhook(f"{name} must be a boolean")
    return value


@dataclass(frozen=True)
class Payment:
    """What Stripe says was paid, read from the Stripe object itself (not from an event's copy)."""

    session_id: str  # "" for an off-session PaymentIntent
    payment_intent_id: str
    payment_method_id: str
    amount_minor: int  # charged
    subtotal_minor: int  # before Stripe promotion codes
    currency: str  # upper case
    livemode: bool
    settled: bool  # paid (or nothing to pay), not merely submitted


def session_payment(session: Mapping[str, Any]) -> Payment:
    """A Checkout Session retrieved with its line items."""
    items = mapping(session, "line_items")
    lines = items.get("data", [])
    if not isinstance(lines, list) or not all(isinstance(line, dict) for line in lines):
        raise InvalidWebhook("line_items.data must be a list of objects")
    subtotal = sum(integer(line, "amount_subtotal") for line in lines)
    return Payment(
        session_id=text(session, "id"),
        payment_intent_id=expandable_id(session, "payment_intent"),
        payment_method_id="",
        amount_minor=integer(session, "amount_total", 0),
        subtotal_minor=subtotal if lines else integer(session, "amount_subtotal", 0),
        currency=optional_text(session, "currency").upper(),
        livemode=boolean(session, "livemode"),
        settled=optional_text(session, "status") == "complete"
        and optional_text(session, "payment_status") in _PAID_SESSION,
    )


def intent_payment(intent: Mapping[str, Any]) -> Payment:
    received = integer(intent, "amount_received", 0)
    return Payment(
        session_id="",
        payment_intent_id=text(intent, "id"),
        payment_method_id=expandable_id(intent, "payment_method"),
        amount_minor=received,
        subtotal_minor=received,
        currency=optional_text(intent, "currency").upper(),
        livemode=boolean(intent, "livemode"),
        settled=optional_text(intent, "status") == "succeeded",
    )


@dataclass(frozen=True)
class Dispute:
    dispute_id: str
    payment_intent_id: str
    amount_minor: int
    currency: str
    status: str  # open, won, lost, or inquiry (a warning_*: no money moved)
    livemode: bool


def dispute(obj: Mapping[str, Any]) -> Dispute:
    stripe_status = text(obj, "status")
    if stripe_status in ("won", "lost"):
        status = stripe_status
    elif stripe_status.startswith("warning_"):
        status = "inquiry"
    else:
        status = "open"
    return Dispute(
        dispute_id=text(obj, "id"),
        payment_intent_id=expandable_id(obj, "payment_intent"),
        amount_minor=integer(obj, "amount"),
        currency=text(obj, "currency").upper(),
        status=status,
        livemode=boolean(obj, "livemode"),
    )
