"""pricing_svc settings."""

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
