"""payment_svc settings."""

from pydantic import Field, SecretStr

from svckit.config import CommonSettings


class Settings(CommonSettings):
    stripe_secret_key: SecretStr | None = Field(
        None, description="Stripe secret key (sk_test_... or sk_live_...); unset disables payments."
    )
    stripe_webhook_secret: SecretStr | None = Field(
        None, description="Webhook signing secret(s) whsec_..., comma-separated while rolling."
    )
    stripe_api_base: str | None = Field(None, description="Stripe API base URL; tests point it at a fake.")
