"""What the rules and the dashboard query is what the running services export; no label carries an id."""

from __future__ import annotations

import json
import re

import yaml

from tests.observability.conftest import MODULES, OBSERVABILITY
from tests.observability.scrape import families, fetch, series_names

# PromQL words that are not metric names (functions, aggregations, operators) as the files use them.
_PROMQL_WORDS = {"sum", "max", "min", "rate", "increase", "histogram_quantile", "or", "and", "unless", "bool"}
# Label names any series may carry, bounded sets all; prometheus-client's
# own platform and gc metrics bring the last five.
ALLOWED_LABELS = {
    "grpc_type", "grpc_service", "grpc_method", "grpc_code", "script", "outcome", "reason", "currency",
    "result", "step", "endpoint", "cause", "event_type", "code", "kind", "to_status", "le",
    "implementation", "major", "minor", "patchlevel", "version", "generation",
}  # fmt: skip


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression reads."""
    expr = re.sub(r'"[^"]*"', "", expr)
    expr = re.sub(r"\{[^}]*\}|\[[^\]]*\]", "", expr)
    expr = re.sub(r"\b(by|without|on|ignoring)\s*\([^)]*\)", "", expr)
    return set(re.findall(r"\b[a-zA-Z_:][a-zA-Z0-9_:]*\b", expr)) - _PROMQL_WORDS


def queried() -> dict[str, set[str]]:
    """Metric name -> the files that query it."""
    exprs = [
        ("alerts.yml", rule["expr"])
        for group in yaml.safe_load((OBSERVABILITY / "alerts.yml").read_text())["groups"]
        for rule in group["rules"]
    ]
    dashboard = json.loads((OBSERVABILITY / "grafana-dashboard.json").read_text())
    exprs += [("dashboard", t["expr"]) for p in dashboard["panels"] for t in p.get("targets", ())]
    variables = dashboard["templating"]["list"]
    # label_values(metric, label): only its first argument is a metric.
    exprs += [("dashboard", v["query"].split(",")[0]) for v in variables if v["type"] == "query"]
    found: dict[str, set[str]] = {}
    for where, expr in exprs:
        for name in metric_names(expr.replace("label_values(", "")):
            found.setdefault(name, set()).add(where)
    return found


def test_the_metric_name_parser_finds_names_not_functions_labels_or_durations():
    expr = 'histogram_quantile(0.9, sum by (le) (rate(a_bucket{job=~"$job",x="y z"}[$__rate_interval]))) / b'
    assert metric_names(expr) == {"a_bucket", "b"}


def test_every_metric_the_rules_and_the_dashboard_query_is_exported(services):
    exported = set()
    for module in MODULES:
        exported |= series_names(families(fetch(services.metrics[module])))
    missing = {name: where for name, where in queried().items() if name not in exported}
    assert not missing, f"queried but exported by no service: {missing}"
    assert {"balance_credited_minor_total", "grpc_server_handled_total", "redis_up"} <= exported


def test_no_series_carries_an_id_or_other_unbounded_label(services):
    labels = set()
    for module in MODULES:
        for family in families(fetch(services.metrics[module])):
            labels.update(name for sample in family.samples for name in sample.labels)
    assert labels <= ALLOWED_LABELS, labels - ALLOWED_LABELS
