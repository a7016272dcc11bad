"""pricing_svc's metrics: discount-code reservations, redemptions and releases. Never the code itself."""

from __future__ import annotations

from prometheus_client import Counter

CODE_STEPS = Counter(
    "pricing_code_steps_total",
    "Discount-code steps by step (reserve, confirm = redeemed, release) and outcome: OK, or the "
    "refusal's ErrorInfo reason (an ErrorReason name, so a bounded set).",
    ("step", "outcome"),
)


def code_step(step: str, outcome: str) -> None:
    CODE_STEPS.labels(step, outcome).inc()
