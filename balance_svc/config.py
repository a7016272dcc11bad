"""balance_svc settings."""

from pydantic import Field, field_validator

from svckit.config import CommonSettings
from svckit.currencies import is_money_currency

_DAY_S = 86_400


class Settings(CommonSettings):
    balance_request_id_ttl_s: int = Field(
        7 * _DAY_S,
        ge=_DAY_S,
        description=(
            "How long a request_id (and the response it replays) is remembered. At least 24 h, "
            "Stripe's own idempotency window, so a top-up retried as long as Stripe retries stays single."
        ),
    )
    balance_hold_retention_s: int = Field(
        7 * _DAY_S,
        ge=_DAY_S,
        description="How long a hold stays readable after it resolves or expires; later reads say NOT_FOUND.",
    )
    balance_default_currency: str = Field(
        "USD", description="Currency (ISO 4217) of an account whose first credit names none."
    )
    balance_low_balance_stream: str = Field(
        "balance:low_balance_events",
        min_length=1,
        description=(
            "Redis Stream that balance.v1.LowBalanceEvent messages are appended to. payment_svc's "
            "LOW_BALANCE_STREAM must name the same stream on the same Redis: the services' one coupling."
        ),
    )
    balance_low_balance_stream_maxlen: int = Field(
        100_000, ge=1_000, description="Approximate cap on that stream's length (XADD MAXLEN ~)."
    )

    @field_validator("balance_default_currency")
    @classmethod
    def _iso_currency(cls, code: str) -> str:
        if not is_money_currency(code):
            raise ValueError("must be an ISO 4217 currency code with a minor unit, like USD")
        return code
