"""Stripe-shaped API errors: the exception the fake raises and the JSON body it answers with."""


class StripeError(Exception):
    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
        **extra,
    ):
        super().__init__(message)
        self.status, self.message, self.type = status, message, type
        self.code, self.param, self.extra = code, param, extra

    def body(self) -> dict:
        error = {"type": self.type, "message": self.message}
        if self.code:
            error["code"] = self.code
            error["doc_url"] = f"https://stripe.com/docs/error-codes/{self.code.replace('_', '-')}"
        if self.param:
            error["param"] = self.param
        extra = {k: v for k, v in self.extra.items() if v is not None}
        return {"error": {**error, **extra}}


def invalid(message: str, param: str | None = None, code: str | None = None) -> StripeError:
    return StripeError(400, message, code=code, param=param)


def unknown_param(name: str) -> StripeError:
    return invalid(f"Received unknown parameter: {name}", name, "parameter_unknown")


def missing_param(name: str) -> StripeError:
    return invalid(f"Missing required param: {name}.", name, "parameter_missing")


def no_such(label: str, object_id: str, param: str) -> StripeError:
    return StripeError(404, f"No such {label}: '{object_id}'", code="resource_missing", param=param)


def card_error(kind: str, payment_method: dict | None = None) -> StripeError:
    """The 402 for a card of kind "decline" or "auth_required" (see objects.CARDS)."""
    if kind == "auth_required":
        return StripeError(
            402,
            "Your card was declined. This transaction requires authentication.",
            type="card_error",
            code="authentication_required",
            decline_code="authentication_required",
            payment_method=payment_method,
        )
    return StripeError(
        402,
        "Your card was declined.",
        type="card_error",
        code="card_declined",
        decline_code="generic_decline",
        payment_method=payment_method,
    )
