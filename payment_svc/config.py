"""payment_svc settings."""

from pydantic import Field, SecretStr

from svckit.config import CommonSettings


class Settings(CommonSettings):
    stripe_secret_key: SecretStr | None = Field(
        None, description="Stripe secret key (sk_test_... or sk_live_...); unset disables payments."
    )
    stripe_webhook_secret: SecretStr | None = Field(
        None,
        description="Webhook signing secret(s) whsec_..., comma-separated while rolling; "
        "unset refuses every webhook event.",
    )
    stripe_api_base: str | None = Field(None, description="Stripe API base URL; tests point it at a fake.")
    stripe_timeout_s: float = Field(20.0, gt=0, description="Timeout of one Stripe HTTP request.")
    stripe_call_budget_s: float = Field(
        10.0,
        gt=0,
        description="Longest one Stripe call may take with its retries; an RPC's own deadline, "
        "less a margin for the answer, shortens it. Then the call fails UNAVAILABLE STRIPE_UNAVAILABLE.",
    )
    stripe_max_network_retries: int = Field(
        2,
        ge=0,
        description="Retries of a Stripe call after a connection error, 409 or 5xx (same idempotency key).",
    )
    stripe_rate_limit_retries: int = Field(
        2,
        ge=0,
        description="Retries of a Stripe call answered 429 (same idempotency key) before UNAVAILABLE.",
    )

    topup_block_minor: int = Field(1000, ge=50, description="One top-up block, in minor units ($10).")
    topup_currency: str = Field("USD", pattern=r"^[A-Z]{3}$", description="Currency of top-ups (ISO 4217).")
    topup_max_blocks: int = Field(50, ge=1, le=1000, description="Most blocks one top-up may buy.")
    topup_action_success_url: str = Field(
        "http://localhost:3000/billing/top-up/done",
        description="Where Checkout sends a customer who finished a top-up that needed authentication.",
    )
    topup_action_cancel_url: str = Field(
        "http://localhost:3000/billing", description="Where that Checkout sends a customer who cancelled."
    )

    checkout_expiry_s: int = Field(
        3600,
        ge=1800,
        le=86400,
        description="Lifetime of a Checkout session (Stripe allows 30 minutes to 24 hours).",
    )
    code_reservation_grace_s: int = Field(
        3600, ge=0, description="How much longer a discount-code reservation lives than its checkout session."
    )
    allow_promotion_codes: bool = Field(
        False,
        description="Let buyers type Stripe promotion codes on product checkouts without one of our codes; "
        "never for top-ups, and never when one of our codes is applied.",
    )

    needs_attention_auto_refund: bool = Field(
        True,
        description="Refund automatically (Stripe key `attention-<order_id>`) a paid order that cannot be "
        "delivered and goes NEEDS_ATTENTION; off leaves the refund to an operator.",
    )

    webhook_max_body_bytes: int = Field(256 * 1024, ge=1024, description="Largest webhook body accepted.")
    webhook_header_timeout_s: float = Field(
        10.0,
        gt=0,
        description="A webhook connection that has not sent a whole request head this long after it opened "
        "(or after its last response) is closed.",
    )
    webhook_body_timeout_s: float = Field(
        10.0, gt=0, description="A webhook request whose body takes longer than this to arrive gets 408."
    )
    webhook_max_connections: int = Field(
        256, ge=1, description="Open webhook connections past this many are answered 503 and closed."
    )
    webhook_tolerance_s: int = Field(
        300, ge=1, description="Webhook timestamps older or further in the future than this are refused."
    )
    webhook_dedupe_ttl_s: int = Field(
        30 * 86400,
        ge=3 * 86400,
        description="How long a processed event id is remembered (Stripe retries for 3 days).",
    )
    idempotency_ttl_s: int = Field(
        7 * 86400, ge=86400, description="How long a request_id of a setting is remembered."
    )

    peer_timeout_s: float = Field(
        5.0, gt=0, description="Deadline of one call to pricing_svc or balance_svc."
    )
    order_events_stream: str = Field("payment:order_events", description="Stream that gets `order.paid`.")
    order_events_maxlen: int = Field(1_000_000, description="Approximate cap of the order events stream.")

    reconcile_interval_s: float = Field(
        60.0, description="How often PENDING orders are reconciled; 0 = never."
    )
    reconcile_after_s: int = Field(
        600, ge=60, description="A PENDING order older than this is checked against Stripe by the sweeper."
    )
    reconcile_batch: int = Field(100, ge=1, description="Most orders one sweep checks.")

    low_balance_stream: str = Field(
        "balance:low_balance_events",
        min_length=1,
        description=(
            "Redis Stream of balance.v1.LowBalanceEvent messages. balance_svc's BALANCE_LOW_BALANCE_STREAM "
            "must name the same stream on the same Redis: the services' one coupling."
        ),
    )
    auto_top_up_consumer_group: str = Field("payment_svc", description="Consumer group on that stream.")
    auto_top_up_consumer: bool = Field(True, description="Run the auto top-up consumer in this process.")
    auto_top_up_max_failures: int = Field(
        3, ge=1, description="Consecutive failed auto top-ups after which it disables itself."
    )
    auto_top_up_lock_ttl_s: int = Field(
        120, description="Longest one account's auto top-up may hold its lock."
    )
    auto_top_up_retry_idle_s: float = Field(
        30.0, description="An event whose top-up hit an outage is retried after this long."
    )
    auto_top_up_block_ms: int = Field(1000, description="How long one XREADGROUP waits for events.")
