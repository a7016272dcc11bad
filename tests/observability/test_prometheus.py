"""A real Prometheus with the shipped scrape config and rules, scraping the three running services."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.error
from collections.abc import Callable
from typing import Any

import grpc
from balance.v1 import balance_service_pb2 as pb
from balance.v1 import balance_service_pb2_grpc

from tests.observability.conftest import OBSERVABILITY, Prometheus
from tests.observability.test_alert_rules import ALERTS

SCRAPED_WITHIN_S = 30.0


def _eventually(read: Callable[[], Any], expected: Any) -> Any:
    """What `read` returns once it equals `expected` (Prometheus scrapes every second), or its last answer."""
    deadline = time.monotonic() + SCRAPED_WITHIN_S
    while (got := read()) != expected and time.monotonic() < deadline:
        time.sleep(0.5)
    return got


def _by_reason(prometheus: Prometheus, query: str) -> Callable[[], dict[str, float]]:
    def read() -> dict[str, float]:
        result = prometheus.get("/api/v1/query", query=query)["result"]
        return {r["metric"]["reason"]: float(r["value"][1]) for r in result}

    return read


async def test_prometheus_reports_the_money_real_credits_and_debits_moved(services, prometheus):
    async with grpc.aio.insecure_channel(services.grpc["balance_svc"]) as channel:
        stub = balance_service_pb2_grpc.BalanceServiceStub(channel)
        for amount, reason, rid in ((700, "TOP_UP", "p1"), (300, "REFUND", "p2"), (700, "TOP_UP", "p1")):
            await stub.Credit(
                pb.CreditRequest(
                    account_id="acct_prom",
                    amount_minor=amount,
                    currency="GBP",
                    reason=pb.TransactionReason.Value(f"TRANSACTION_REASON_{reason}"),
                    request_id=f"prom-{rid}",  # the third repeats the first: replayed, not counted
                )
            )
        await stub.Debit(
            pb.DebitRequest(
                account_id="acct_prom",
                amount_minor=250,
                reason=pb.TRANSACTION_REASON_USAGE,
                request_id="prom-d1",
            )
        )
    credited = 'sum by (reason) (balance_credited_minor_total{job="balance_svc",currency="GBP"})'
    debited = 'sum by (reason) (balance_debited_minor_total{job="balance_svc",currency="GBP"})'
    expected = {"TOP_UP": 700, "REFUND": 300}
    assert await asyncio.to_thread(_eventually, _by_reason(prometheus, credited), expected) == expected
    assert await asyncio.to_thread(_eventually, _by_reason(prometheus, debited), {"USAGE": 250}) == {
        "USAGE": 250
    }


def test_prometheus_scrapes_every_service_and_evaluates_every_alert(prometheus):
    def targets() -> list[tuple[str, str]]:
        return sorted(
            (t["labels"]["job"], t["health"]) for t in prometheus.get("/api/v1/targets")["activeTargets"]
        )

    def alerts() -> list[tuple[str, str]]:
        groups = prometheus.get("/api/v1/rules", type="alert")["groups"]
        return sorted((r["name"], r["health"]) for g in groups for r in g["rules"])

    jobs = [("balance_svc", "up"), ("payment_svc", "up"), ("pricing_svc", "up")]
    assert _eventually(targets, jobs) == jobs
    evaluated = sorted((a["alert"], "ok") for a in ALERTS)
    assert _eventually(alerts, evaluated) == evaluated


def test_every_dashboard_query_runs_on_prometheus(prometheus):
    dashboard = json.loads((OBSERVABILITY / "grafana-dashboard.json").read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", ())]
    # Grafana's variables, as Grafana would fill them in.
    grafana = {"$__rate_interval": "1m", "$__range": "5m", "$job": ".*"}
    refused = {}
    for expr in exprs:
        for variable, value in grafana.items():
            expr = expr.replace(variable, value)
        try:
            prometheus.get("/api/v1/query", query=expr)
        except urllib.error.HTTPError as err:  # 400 for a query Prometheus cannot parse or run
            refused[expr] = err.read().decode()
    assert not refused
    assert len(exprs) >= 30
