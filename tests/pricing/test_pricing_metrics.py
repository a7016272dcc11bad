"""pricing_svc counts each discount-code step by outcome, with the refusal's reason as the outcome."""

from __future__ import annotations

import grpc
from prometheus_client import REGISTRY

from pricing_svc.settings import Settings
from tests.conftest import base_settings
from tests.pricing.support import Pricing, fails_with, start_pricing


def _steps(step: str, outcome: str) -> float:
    return REGISTRY.get_sample_value("pricing_code_steps_total", {"step": step, "outcome": outcome}) or 0.0


async def test_code_steps_are_counted_by_step_and_outcome(pricing: Pricing):
    await pricing.create_code("COUNTED", max_redemptions=1)
    before = {
        k: _steps(*k) for k in [("reserve", "OK"), ("confirm", "OK"), ("reserve", "DISCOUNT_CODE_EXHAUSTED")]
    }

    await pricing.reserve("COUNTED", "order-1", account_id="acct-1")
    await pricing.confirm("COUNTED", "order-1")
    await fails_with(
        pricing.reserve("COUNTED", "order-2", account_id="acct-2"),
        grpc.StatusCode.FAILED_PRECONDITION,
        "DISCOUNT_CODE_EXHAUSTED",
    )

    after = {k: _steps(*k) for k in before}
    assert {k: after[k] - before[k] for k in before} == {
        ("reserve", "OK"): 1,
        ("confirm", "OK"): 1,
        ("reserve", "DISCOUNT_CODE_EXHAUSTED"): 1,
    }


def _script_calls(script: str) -> float:
    return REGISTRY.get_sample_value("redis_script_calls_total", {"script": script, "outcome": "ok"}) or 0.0


async def test_metrics_port_0_measures_no_code_script_but_still_counts_code_steps(
    any_redis, start_server, channel_to
):
    pricing = await start_pricing(
        start_server, channel_to, Settings(**base_settings(**any_redis, metrics_port=0))
    )
    await pricing.create_code("UNMEASURED", max_redemptions=2)
    before = (_script_calls("code_reserve"), _steps("reserve", "OK"))

    await pricing.reserve("UNMEASURED", "order-1", account_id="acct-1")

    assert (_script_calls("code_reserve") - before[0], _steps("reserve", "OK") - before[1]) == (0, 1)
