"""Builders for the Stripe API objects the fake returns, with the fields of Stripe's published fixtures."""

import copy
import secrets
import string
import time

API_VERSION = "2023-08-16"  # the version of the spec params.json was generated from
_ALPHABET = string.ascii_letters + string.digits

# Stripe's test cards for each outcome (brand, last4): 4242..., 4000...0002, 4000 0027 6000 3184.
CARDS = {"ok": ("visa", "4242"), "decline": ("visa", "0002"), "auth_required": ("visa", "3184")}


def new_id(prefix: str, length: int = 24) -> str:
    return prefix + "".join(secrets.choice(_ALPHABET) for _ in range(length))


def now() -> int:
    return int(time.time())


def _base(kind: str, object_id: str, nulls: str) -> dict:
    """Fields every object has, plus the space-separated `nulls` fields, unset (null) for now."""
    return {
        "id": object_id,
        "object": kind,
        "created": now(),
        "livemode": False,
        "metadata": {},
        **dict.fromkeys(nulls.split()),
    }


def customer() -> dict:
    nulls = "address currency default_source description discount email name phone shipping test_clock"
    return {
        **_base("customer", new_id("cus_", 14), nulls),
        "balance": 0,
        "delinquent": False,
        "invoice_prefix": new_id("", 8).upper(),
        "invoice_settings": dict.fromkeys(["custom_fields", "default_payment_method", "footer"]),
        "next_invoice_sequence": 1,
        "preferred_locales": [],
        "tax_exempt": "none",
    }


def card_payment_method(kind: str, customer_id: str | None) -> dict:
    brand, last4 = CARDS[kind]
    return {
        **_base("payment_method", new_id("pm_"), ""),
        "type": "card",
        "billing_details": dict.fromkeys(["address", "email", "name", "phone"]),
        "card": {
            "brand": brand,
            "last4": last4,
            "exp_month": 12,
            "exp_year": 2034,
            "country": "US",
            "funding": "credit",
            "fingerprint": new_id("", 16),
            "checks": {"cvc_check": "pass", "address_line1_check": None, "address_postal_code_check": None},
            "networks": {"available": [brand], "preferred": None},
            "three_d_secure_usage": {"supported": True},
            "wallet": None,
        },
        "customer": customer_id,
    }


def checkout_session(params: dict, amount: int, currency: str, expires_at: int) -> dict:
    nulls = "customer_details invoice payment_intent payment_link setup_intent subscription"
    copied = "allow_promotion_codes cancel_url client_reference_id customer customer_email locale success_url"
    return {
        **_base("checkout.session", new_id("cs_test_", 58), nulls),
        **{key: params.get(key) for key in copied.split()},
        "amount_subtotal": amount,
        "amount_total": amount,
        "currency": currency,
        "expires_at": expires_at,
        "metadata": params.get("metadata") or {},
        "mode": "payment",
        "payment_method_types": params.get("payment_method_types") or ["card"],
        "payment_status": "unpaid",
        "status": "open",
        "total_details": {"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0},
        "url": None,  # set by the caller, which knows the fake's address
    }


def payment_intent(params: dict) -> dict:
    intent_id = new_id("pi_")
    nulls = (
        "application application_fee_amount automatic_payment_methods canceled_at cancellation_reason "
        "invoice last_payment_error latest_charge next_action on_behalf_of processing review shipping "
        "statement_descriptor statement_descriptor_suffix transfer_data transfer_group"
    )
    copied = "customer description payment_method receipt_email setup_future_usage"
    return {
        **_base("payment_intent", intent_id, nulls),
        **{key: params.get(key) for key in copied.split()},
        "amount": params["amount"],
        "amount_capturable": 0,
        "amount_received": 0,
        "capture_method": "automatic",
        "client_secret": f"{intent_id}_secret_{new_id('', 25)}",
        "confirmation_method": "automatic",
        "currency": params["currency"],
        "metadata": params.get("metadata") or {},
        "payment_method_options": {},
        "payment_method_types": ["card"],
        "status": "requires_payment_method",
    }


def charge(intent: dict, method: dict, failure: dict | None) -> dict:
    """`failure` is the card error hash of a declined attempt, None for a successful one."""
    failure = failure or {}
    details = {key: method["card"][key] for key in ("brand", "last4", "exp_month", "exp_year", "funding")}
    return {
        **_base("charge", new_id("ch_"), "receipt_url"),
        **{key: intent[key] for key in ("amount", "currency", "customer", "description", "metadata")},
        "amount_captured": 0 if failure else intent["amount"],
        "amount_refunded": 0,
        "balance_transaction": None if failure else new_id("txn_"),
        "billing_details": method["billing_details"],
        "captured": not failure,
        "disputed": False,
        "failure_code": failure.get("code"),
        "failure_message": failure.get("message"),
        "outcome": {
            "network_status": "declined_by_network" if failure else "approved_by_network",
            "reason": failure.get("decline_code"),
            "risk_level": "normal",
            "type": "issuer_declined" if failure else "authorized",
        },
        "paid": not failure,
        "payment_intent": intent["id"],
        "payment_method": method["id"],
        "payment_method_details": {"type": "card", "card": details},
        "refunded": False,
        "status": "failed" if failure else "succeeded",
    }


def refund(charge_obj: dict, amount: int, params: dict) -> dict:
    return {
        **_base("refund", new_id("re_"), "receipt_number source_transfer_reversal transfer_reversal"),
        "amount": amount,
        "balance_transaction": new_id("txn_"),
        "charge": charge_obj["id"],
        "currency": charge_obj["currency"],
        "metadata": params.get("metadata") or {},
        "payment_intent": charge_obj["payment_intent"],
        "failure_reason": None,
        "reason": params.get("reason"),
        "status": "succeeded",
    }


def line_items(session: dict, params: dict) -> dict:
    """The session's line items, as `expand[]=line_items` returns them."""
    items = []
    for item in params["line_items"]:
        data = item["price_data"]
        amount = data["unit_amount"] * item["quantity"]
        price = {**_base("price", new_id("price_"), ""), "currency": data["currency"].lower()}
        price |= {"unit_amount": data["unit_amount"], "type": "one_time", "product": new_id("prod_", 14)}
        items.append(
            {
                "id": new_id("li_"),
                "object": "item",
                "amount_discount": 0,
                "amount_subtotal": amount,
                "amount_tax": 0,
                "amount_total": amount,
                "currency": data["currency"].lower(),
                "description": (data.get("product_data") or {}).get("name"),
                "price": price,
                "quantity": item["quantity"],
            }
        )
    return list_object(items, f"/v1/checkout/sessions/{session['id']}/line_items", False)


def dispute(charge_obj: dict, amount: int) -> dict:
    return {
        **_base("dispute", new_id("dp_"), ""),
        "amount": amount,
        "balance_transactions": [],
        "charge": charge_obj["id"],
        "currency": charge_obj["currency"],
        "evidence": {},
        "evidence_details": {"due_by": now() + 7 * 86400, "has_evidence": False, "past_due": False},
        "is_charge_refundable": False,
        "payment_intent": charge_obj["payment_intent"],
        "reason": "fraudulent",
        "status": "needs_response",
    }


def event(type_: str, obj: dict, request_id: str | None, idempotency_key: str | None) -> dict:
    """An event carrying a snapshot of `obj` as it is now."""
    return {
        "id": new_id("evt_"),
        "object": "event",
        "api_version": API_VERSION,
        "created": now(),
        "data": {"object": copy.deepcopy(obj)},
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": request_id, "idempotency_key": idempotency_key},
        "type": type_,
    }


def list_object(items: list, url: str, has_more: bool) -> dict:
    return {"object": "list", "data": items, "has_more": has_more, "url": url}
