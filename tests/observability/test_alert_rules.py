"""The alerting rules: valid for promtool, each with a runbook, each unit-tested firing and quiet."""

from __future__ import annotations

import shutil
import subprocess

import pytest
import yaml

from tests.observability.conftest import OBSERVABILITY

RULES = yaml.safe_load((OBSERVABILITY / "alerts.yml").read_text())
ALERTS = [rule for group in RULES["groups"] for rule in group["rules"] if "alert" in rule]
TESTS = yaml.safe_load((OBSERVABILITY / "alerts_test.yml").read_text())["tests"]


def _promtool(*args: str) -> subprocess.CompletedProcess[str]:
    promtool = shutil.which("promtool")
    assert promtool, "install Prometheus' promtool (apt-get install prometheus; .ci/run does)"
    return subprocess.run([promtool, *args], cwd=OBSERVABILITY, capture_output=True, text=True, timeout=60)


def test_promtool_accepts_the_rules_and_the_scrape_config():
    for args in (("check", "rules", "alerts.yml"), ("check", "config", "prometheus.yml")):
        result = _promtool(*args)
        assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_fires_on_its_failing_series_and_stays_quiet_on_a_healthy_one():
    result = _promtool("test", "rules", "alerts_test.yml")
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("alert", [a["alert"] for a in ALERTS])
def test_each_alert_has_a_firing_case_and_a_quiet_case(alert):
    cases = [c for t in TESTS for c in t["alert_rule_test"] if c["alertname"] == alert]
    assert any(c["exp_alerts"] for c in cases), f"{alert} is never shown firing"
    assert any(not c["exp_alerts"] for c in cases), f"{alert} is never shown quiet"


@pytest.mark.parametrize("alert", ALERTS, ids=[a["alert"] for a in ALERTS])
def test_each_alert_has_a_runbook_and_a_severity(alert):
    assert len(alert["annotations"]["runbook"].split()) >= 20
    assert alert["labels"]["severity"] in ("critical", "warning")
