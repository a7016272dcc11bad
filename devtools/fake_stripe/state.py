"""What the fake remembers (objects, requests, idempotent replies, events) and Stripe's payment rules."""

import copy
from collections.abc import Callable
from dataclasses import dataclass, field

from . import objects
from .errors import card_error, invalid, missing_param, no_such

# Stripe's minimum charge per currency, in the smallest unit; others default to 50.
MIN_AMOUNTS = {"gbp": 30, "hkd": 400, "mxn": 1000}
MAX_AMOUNT = 99_999_999
_SYMBOLS = {"usd": "$", "eur": "€", "gbp": "£"}
_LABELS = {"payment_method": "PaymentMethod"}


@dataclass
class RecordedRequest:
    method: str
    path: str
    params: dict  # decoded form/query values, still strings as sent on the wire
    idempotency_key: str | None
    headers: dict[str, str]
    status: int | None = None


@dataclass
class Reply:
    """A response saved for replay under an Idempotency-Key."""

    fingerprint: tuple
    status: int
    body: bytes
    request_id: str


@dataclass
class Store:
    on_event: Callable[[dict], None] = lambda event: None
    base_url: str = ""
    objects: dict[str, dict] = field(default_factory=dict)
    events: list[dict] = field(default_factory=list)
    replies: dict[tuple, Reply] = field(default_factory=dict)
    card_kinds: dict[str, str] = field(default_factory=dict)  # payment method id -> objects.CARDS key
    session_extras: dict[str, dict] = field(default_factory=dict)  # checkout session id -> params

    def get(self, object_id: str, kind: str, param: str = "id") -> dict:
        obj = self.objects.get(object_id or "")
        if obj is None or obj["object"] != kind:
            raise no_such(_LABELS.get(kind, kind), object_id, param)
        return obj

    def add(self, obj: dict) -> dict:
        self.objects[obj["id"]] = obj
        return obj

    def expanded(self, obj: dict, paths: list[str] | None) -> dict:
        """A copy of `obj` with ids replaced by objects along `expand[]` paths (e.g. "payment_intent")."""
        obj = copy.deepcopy(obj)
        for path in paths or []:
            self._expand(obj, path.split("."))
        return obj

    def _expand(self, obj: dict, keys: list[str]) -> None:
        head, *rest = keys
        if head == "data" and isinstance(obj.get("data"), list):  # list objects: expand each item
            for item in obj["data"]:
                self._expand(item, rest)
            return
        if isinstance(obj.get(head), str) and obj[head] in self.objects:
            obj[head] = copy.deepcopy(self.objects[obj[head]])
        if rest and isinstance(obj.get(head), dict):
            self._expand(obj[head], rest)

    def emit(self, type_: str, obj: dict, origin: tuple = (None, None)) -> dict:
        """`origin` is the (request id, idempotency key) of the API call that caused the event."""
        event = objects.event(type_, obj, *origin)
        self.events.append(event)
        self.on_event(event)
        return event

    # Customers and their saved cards

    def create_customer(self, params: dict) -> dict:
        return self.update_customer(self.add(objects.customer())["id"], params)

    def update_customer(self, customer_id: str, params: dict) -> dict:
        customer = self.get(customer_id, "customer")
        for key, value in params.items():
            if key == "metadata":
                _merge_metadata(customer, value)
            elif key == "invoice_settings":
                default, param = (
                    (value or {}).get("default_payment_method"),
                    "invoice_settings[default_payment_method]",
                )
                if default and self.get(default, "payment_method", param)["customer"] != customer_id:
                    message = f"The customer does not have a payment method with the ID {default}."
                    raise invalid(f"{message} The payment method must be attached to the customer.", param)
                customer["invoice_settings"].update(value or {})
            elif key == "payment_method":
                self.get(value, "payment_method", key)["customer"] = customer_id
            elif key in customer and key not in ("id", "object"):
                customer[key] = value
        return customer

    def attach_card(self, customer_id: str | None, kind: str) -> dict:
        if customer_id:
            self.get(customer_id, "customer", "customer")
        method = self.add(objects.card_payment_method(kind, customer_id))
        self.card_kinds[method["id"]] = kind
        return method

    def list_payment_methods(self, customer_id: str | None, params: dict, url: str) -> dict:
        if customer_id:
            self.get(customer_id, "customer", "customer")
        found = [
            o
            for o in reversed(self.objects.values())
            if o["object"] == "payment_method"
            and (customer_id is None or o["customer"] == customer_id)
            and params.get("type") in (None, o["type"])
        ]
        if params.get("starting_after"):
            ids = [o["id"] for o in found]
            if params["starting_after"] not in ids:
                raise no_such("PaymentMethod", params["starting_after"], "starting_after")
            found = found[ids.index(params["starting_after"]) + 1 :]
        limit = params.get("limit") or 10
        return objects.list_object(found[:limit], url, len(found) > limit)

    # Checkout Sessions

    def create_session(self, params: dict) -> dict:
        if params.get("mode") not in (None, "payment"):
            raise invalid("This fake supports only mode=payment Checkout Sessions.", "mode")
        if not params.get("line_items"):
            raise missing_param("line_items")
        total, currencies = 0, set()
        for i, item in enumerate(params["line_items"]):
            if item.get("price"):
                raise no_such("price", item["price"], f"line_items[{i}][price]")
            data = item.get("price_data")
            if not data:
                raise missing_param(f"line_items[{i}][price_data]")
            if data.get("unit_amount") is None:
                raise missing_param(f"line_items[{i}][price_data][unit_amount]")
            if not (data.get("product_data") or data.get("product")):
                raise missing_param(f"line_items[{i}][price_data][product_data]")
            if item.get("quantity") is None:
                raise missing_param(f"line_items[{i}][quantity]")
            total += data["unit_amount"] * item["quantity"]
            currencies.add(data["currency"].lower())
        if len(currencies) > 1:
            raise invalid("All line items must have the same currency.", "line_items")
        currency = currencies.pop()
        if total < MIN_AMOUNTS.get(currency, 50):
            raise invalid(
                "The Checkout Session's total amount due must add up to at least "
                f"{_money(MIN_AMOUNTS.get(currency, 50), currency)}",
                None,
                "amount_too_small",
            )
        if params.get("customer"):
            self.get(params["customer"], "customer", "customer")
        if params.get("allow_promotion_codes") is not None and params.get("discounts") is not None:
            raise invalid(
                "You may only specify one of these parameters: allow_promotion_codes, discounts.",
                "allow_promotion_codes",
                "parameters_exclusive",
            )
        created = objects.now()
        expires_at = params.get("expires_at") or created + 24 * 3600
        if expires_at < created + 30 * 60:
            raise invalid(
                "The `expires_at` timestamp must be at least 30 minutes from Checkout Session creation.",
                "expires_at",
            )
        if expires_at > created + 24 * 3600:
            raise invalid(
                "The `expires_at` timestamp must be less than 24 hours from Checkout Session creation.",
                "expires_at",
            )
        session = self.add(objects.checkout_session(params, total, currency, expires_at))
        session["url"] = f"{self.base_url}/c/pay/{session['id']}"
        self.session_extras[session["id"]] = params
        return session

    def retrieve_session(self, session_id: str, expand: list[str] | None) -> dict:
        """`line_items` is includable: present only when expanded, like Stripe."""
        session = self.get(session_id, "checkout.session", "session")
        if "line_items" not in (expand or []):
            return session
        return {**session, "line_items": objects.line_items(session, self.session_extras[session_id])}

    def payment_link_session(
        self, amount: int, currency: str, client_reference_id: str, metadata: dict | None = None
    ) -> dict:
        """A session opened from a Payment Link, whose URL lets the buyer pick `client_reference_id`."""
        item = {"price_data": {"currency": currency, "unit_amount": amount, "product_data": {"name": "Link"}}}
        params = {"line_items": [{**item, "quantity": 1}], "client_reference_id": client_reference_id}
        session = self.create_session({**params, "metadata": metadata or {}})
        session["payment_link"] = objects.new_id("plink_")
        return session

    def expire_session(self, session_id: str, origin: tuple = (None, None)) -> dict:
        session = self._open_session(session_id)
        session.update(status="expired", url=None)
        return self.emit("checkout.session.expired", session, origin)

    def complete_session(self, session_id: str, paid: bool) -> dict:
        """The customer finishes Checkout; the saved card is attached when setup_future_usage asks."""
        session = self._open_session(session_id)
        intent_data = self.session_extras[session_id].get("payment_intent_data") or {}
        saves_card = session["customer"] and intent_data.get("setup_future_usage")
        method = self.attach_card(session["customer"] if saves_card else None, "ok")
        amount, currency, customer = session["amount_total"], session["currency"], session["customer"]
        intent = self.add(objects.payment_intent(intent_data | {"amount": amount, "currency": currency}))
        intent.update(customer=customer, payment_method=method["id"])
        if paid:
            self._charge(intent, method, "ok", off_session=False, origin=(None, None))
        else:
            intent["status"] = "processing"  # e.g. a bank debit that settles later
        email = session["customer_email"] or "customer@example.test"
        session.update(
            status="complete",
            payment_status="paid" if paid else "unpaid",
            url=None,
            payment_intent=intent["id"],
            customer_details=dict.fromkeys(["address", "name", "phone"]) | {"email": email, "tax_ids": []},
        )
        return self.emit("checkout.session.completed", session)

    def settle_async_payment(self, session_id: str, succeeded: bool) -> dict:
        """A delayed payment method (e.g. a bank debit) settles after the session completed unpaid."""
        session = self.get(session_id, "checkout.session", "session")
        if session["status"] != "complete" or session["payment_status"] != "unpaid":
            raise invalid(f"Checkout Session {session_id} has no payment waiting to settle.", "session")
        intent = self.get(session["payment_intent"], "payment_intent")
        if succeeded:
            method = self.get(intent["payment_method"], "payment_method")
            self._charge(intent, method, "ok", off_session=False, origin=(None, None))
            session["payment_status"] = "paid"
            return self.emit("checkout.session.async_payment_succeeded", session)
        intent["status"] = "requires_payment_method"
        return self.emit("checkout.session.async_payment_failed", session)

    def _open_session(self, session_id: str) -> dict:
        session = self.get(session_id, "checkout.session", "session")
        if session["status"] != "open":
            raise invalid(
                f'Only Checkout Sessions with a status in ["open"] can be expired or '
                f"completed; {session_id} is {session['status']}.",
                "session",
            )
        return session

    # PaymentIntents, charges and refunds

    def create_payment_intent(self, params: dict, forced_card: str | None, origin: tuple) -> dict:
        """`forced_card` ("decline"/"auth_required") overrides the card's own outcome."""
        currency = params["currency"] = params["currency"].lower()
        minimum = MIN_AMOUNTS.get(currency, 50)
        if params["amount"] < minimum:
            raise invalid(
                f"Amount must be at least {_money(minimum, currency)}", "amount", "amount_too_small"
            )
        if params["amount"] > MAX_AMOUNT:
            raise invalid(
                f"Amount must be no more than {_money(MAX_AMOUNT, currency)}", "amount", "amount_too_large"
            )
        if params.get("customer"):
            self.get(params["customer"], "customer", "customer")
        method = None
        if params.get("payment_method"):
            method = self.get(params["payment_method"], "payment_method", "payment_method")
            if method["customer"] not in (None, params.get("customer")):
                raise invalid(f"PaymentMethod {method['id']} belongs to another Customer.", "payment_method")
        _check_payment_method_choice(params)
        if params.get("off_session") and not params.get("confirm"):
            raise invalid("You can only pass `off_session` when `confirm` is true.", "off_session")
        if params.get("confirm") and not method:
            raise invalid(
                "You cannot confirm this PaymentIntent because it's missing a payment method.",
                "payment_method",
                "payment_intent_unexpected_state",
            )
        intent = self.add(objects.payment_intent(params))
        if not params.get("confirm"):
            intent["status"] = "requires_confirmation" if method else "requires_payment_method"
            return intent
        kind = forced_card or self.card_kinds.get(method["id"], "ok")
        return self._charge(intent, method, kind, bool(params.get("off_session")), origin)

    def _charge(self, intent: dict, method: dict, kind: str, off_session: bool, origin: tuple) -> dict:
        if kind == "auth_required" and not off_session:
            # On-session, Stripe asks the customer to authenticate instead of failing.
            intent.update(
                status="requires_action", next_action={"type": "use_stripe_sdk", "use_stripe_sdk": {}}
            )
            self.emit("payment_intent.requires_action", intent, origin)
            return intent
        error = None if kind == "ok" else card_error(kind, method)
        charge = self.add(objects.charge(intent, method, error and error.body()["error"]))
        intent["latest_charge"] = charge["id"]
        if error is None:
            intent.update(status="succeeded", amount_received=intent["amount"])
            self.emit("payment_intent.succeeded", intent, origin)
            return intent
        error.extra["charge"] = charge["id"]
        intent.update(status="requires_payment_method", last_payment_error=error.body()["error"])
        self.emit("payment_intent.payment_failed", intent, origin)
        error.extra["payment_intent"] = intent
        raise error

    def refund(self, params: dict, origin: tuple) -> dict:
        charge_id, intent_id = params.get("charge"), params.get("payment_intent")
        if not charge_id and not intent_id:
            raise invalid(
                "One of the following params should be provided for this request: payment_intent or charge.",
                None,
                "parameter_missing",
            )
        if intent_id:
            intent = self.get(intent_id, "payment_intent", "payment_intent")
            if intent["status"] != "succeeded":
                raise invalid(
                    f"This PaymentIntent ({intent_id}) does not have a successful charge to refund.",
                    "payment_intent",
                )
            if charge_id and charge_id != intent["latest_charge"]:
                raise invalid(f"Charge {charge_id} does not belong to PaymentIntent {intent_id}.", "charge")
            charge_id = intent["latest_charge"]
        charge = self.get(charge_id, "charge", "charge")
        remaining = charge["amount"] - charge["amount_refunded"]
        if charge["status"] != "succeeded":
            raise invalid(f"Charge {charge_id} failed, so it cannot be refunded.", "charge")
        if remaining == 0:
            raise invalid(
                f"Charge {charge_id} has already been refunded.", "charge", "charge_already_refunded"
            )
        amount = remaining if params.get("amount") is None else params["amount"]
        if amount <= 0:
            raise invalid("Invalid positive integer", "amount", "parameter_invalid_integer")
        if amount > remaining:
            raise invalid(
                f"Refund amount ({_money(amount, charge['currency'])}) is greater than unrefunded "
                f"amount on charge ({_money(remaining, charge['currency'])})",
                "amount",
                "amount_too_large",
            )
        refund = self.add(objects.refund(charge, amount, params))
        charge["amount_refunded"] += amount
        charge["refunded"] = charge["amount_refunded"] == charge["amount"]
        self.emit("charge.refunded", charge, origin)
        return refund

    def fail_refund(self, refund_id: str) -> dict:
        """The bank returns a refund after it succeeded: its amount is unrefunded again on the charge."""
        refund = self.get(refund_id, "refund", "refund")
        if refund["status"] == "failed":
            raise invalid(f"Refund {refund_id} has already failed.", "refund")
        charge = self.get(refund["charge"], "charge", "charge")
        refund.update(status="failed", failure_reason="expired_or_canceled_card")
        charge["amount_refunded"] -= refund["amount"]
        charge["refunded"] = False
        return self.emit("charge.refund.updated", refund)

    # Disputes

    def create_dispute(self, charge_id: str, amount: int | None) -> dict:
        charge = self.get(charge_id, "charge", "charge")
        if charge["status"] != "succeeded" or charge["disputed"]:
            raise invalid(f"Charge {charge_id} cannot be disputed.", "charge")
        dispute = self.add(objects.dispute(charge, charge["amount"] if amount is None else amount))
        charge["disputed"] = True
        return self.emit("charge.dispute.created", dispute)

    def close_dispute(self, dispute_id: str, won: bool) -> dict:
        dispute = self.get(dispute_id, "dispute", "dispute")
        if dispute["status"] in ("won", "lost"):
            raise invalid(f"Dispute {dispute_id} is already closed.", "dispute")
        dispute["status"] = "won" if won else "lost"
        return self.emit("charge.dispute.closed", dispute)


def _check_payment_method_choice(params: dict) -> None:
    """Since API 2023-08-16 automatic payment methods are on unless payment_method_types is given;
    confirming then needs a return_url unless redirects are turned off."""
    automatic = params.get("automatic_payment_methods")
    if automatic is not None and params.get("payment_method_types") is not None:
        raise invalid(
            "You may only specify one of these parameters: automatic_payment_methods, payment_method_types.",
            "automatic_payment_methods",
        )
    if params.get("return_url") is not None and not params.get("confirm"):
        raise invalid("The `return_url` parameter can only be passed when `confirm` is true.", "return_url")
    redirects_off = automatic is not None and automatic.get("allow_redirects") == "never"
    card_only = params.get("payment_method_types") is not None
    if params.get("confirm") and not (card_only or redirects_off or params.get("return_url")):
        raise invalid(
            "A `return_url` must be specified because this Payment Intent is configured to automatically "
            "accept the payment methods enabled in the Dashboard, some of which may require a full page "
            "redirect to succeed. If you do not want to accept redirect-based payment methods, set "
            "`automatic_payment_methods[enabled]` to `true` and `automatic_payment_methods[allow_redirects]` "
            "to `never` when creating Setup Intents and Payment Intents.",
            "return_url",
        )


def _merge_metadata(obj: dict, value: dict | None) -> None:
    """Stripe merges metadata keys; an empty value unsets a key, an empty `metadata` unsets all."""
    if value is None:
        obj["metadata"] = {}
    for key, item in (value or {}).items():
        if item == "":
            obj["metadata"].pop(key, None)
        else:
            obj["metadata"][key] = item


def _money(amount: int, currency: str) -> str:
    return f"{_SYMBOLS.get(currency, '')}{amount / 100:.2f} {currency}"
