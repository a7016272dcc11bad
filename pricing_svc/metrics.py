"""pricing_svc's metrics: discount-code reservations, redemptions and releases. Never the code itself.

Defined here with one helper; the call site in pricing_svc is listed in the operations notes
(deploy/observability/README.md) until it is wired.
"""

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
