"""balance_svc settings."""

from pydantic import Field

from balance_svc.events import DEFAULT_LOW_BALANCE_STREAM
from svckit.config import CommonSettings

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
        "USD", pattern=r"^[A-Z]{3}$", description="Currency of an account whose first credit names none."
    )
    balance_low_balance_stream: str = Field(
        DEFAULT_LOW_BALANCE_STREAM, description="Redis Stream that low-balance events are appended to."
    )
    balance_low_balance_stream_maxlen: int = Field(
        100_000, ge=1_000, description="Approximate cap on that stream's length (XADD MAXLEN ~)."
    )
