"""pricing_svc's process settings, read from environment variables."""

from pydantic import Field

from svckit.config import CommonSettings


class Settings(CommonSettings):
    pricing_config_refresh_ms: int = Field(
        1000,
        ge=10,
        description=(
            "How often each replica checks the pricing config version; a price changed elsewhere "
            "reaches this replica within this bound plus two Redis round trips."
        ),
    )
    pricing_request_id_ttl_s: int = Field(
        7 * 86_400,
        ge=86_400,
        description="How long pricing_svc remembers a request_id and its first response (7 days).",
    )
    pricing_reservation_retention_s: int = Field(
        7 * 86_400,
        ge=3_600,
        description=(
            "How long an order's discount-code reservation record is kept after it lapses or its last "
            "change; meanwhile its order cannot reserve another code by mistake."
        ),
    )
