"""The e2e customer story, read back from a real Prometheus: exact money and order counts, and a chart.

The chart (the order funnel and the money flows, drawn from Prometheus's query results) is written to
test-artifacts/observability/story.png for the operations notes; the assertions are what the test proves.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from devtools.redis_procs import free_port
from tests.e2e.conftest import local_stack
from tests.observability.conftest import MODULES, ROOT, Prometheus, running_prometheus

CHART = ROOT / "test-artifacts" / "observability" / "story.png"
STORY = "tests/e2e/test_story.py::test_the_whole_customer_story"
FUNNEL = ("PENDING", "PAID", "FULFILLED", "REFUNDED")
SETTLED_WITHIN_S = 30.0


def _vector(prometheus: Prometheus, query: str, *labels: str) -> dict[tuple[str, ...], float]:
    result = prometheus.get("/api/v1/query", query=query)["result"]
    return {tuple(r["metric"].get(name, "") for name in labels): float(r["value"][1]) for r in result}


def _settled(read, expected):
    """`read()` once it equals `expected` (Prometheus scrapes every second), else its last answer."""
    deadline = time.monotonic() + SETTLED_WITHIN_S
    while (got := read()) != expected and time.monotonic() < deadline:
        time.sleep(0.5)
    return got


def _run_story(endpoints) -> None:
    env = {
        **os.environ,
        "E2E_PRICING_ADDR": endpoints.pricing,
        "E2E_BALANCE_ADDR": endpoints.balance,
        "E2E_PAYMENT_ADDR": endpoints.payment,
        "E2E_WEBHOOK_URL": endpoints.webhook_url,
        "E2E_FAKE_STRIPE_URL": endpoints.fake_stripe_url,
        "E2E_ADMIN_TOKEN": endpoints.admin_token,
    }
    story = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:randomly", "-p", "no:cacheprovider", STORY],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert story.returncode == 0, story.stdout[-3000:] + story.stderr[-3000:]


def _chart(funnel: dict[tuple[str, ...], float], credited, debited, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    figure = Figure(figsize=(11, 4.2))  # no pyplot: no GUI backend, no global state
    orders, money = figure.subplots(1, 2)
    kinds = sorted({kind for kind, _ in funnel})
    width = 0.8 / max(1, len(kinds))
    for i, kind in enumerate(kinds):
        xs = [x + i * width for x in range(len(FUNNEL))]
        orders.bar(xs, [funnel.get((kind, status), 0) for status in FUNNEL], width, label=kind)
    orders.set_xticks([x + width * (len(kinds) - 1) / 2 for x in range(len(FUNNEL))], FUNNEL)
    orders.set_title("Order funnel: orders entering each status")
    orders.set_ylabel("orders")
    orders.yaxis.set_major_locator(MaxNLocator(integer=True))
    orders.legend()
    rows = [(f"credited {r}", v) for (r,), v in sorted(credited.items())]
    rows += [(f"debited {r}", v) for (r,), v in sorted(debited.items())]
    money.barh(
        [name for name, _ in rows],
        [v / 100 for _, v in rows],
        color=["tab:green"] * len(credited) + ["tab:red"] * len(debited),
    )
    money.set_title("Money flows at balance_svc (USD)")
    money.set_xlabel("USD")
    figure.suptitle("After the e2e customer story, as Prometheus reports it")
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def test_prometheus_reports_the_e2e_storys_orders_and_money_exactly(tmp_path_factory):
    metrics = {module: free_port() for module in MODULES}
    service_env = {module: {"METRICS_PORT": str(port)} for module, port in metrics.items()}
    with (
        local_stack(tmp_path_factory, service_env, plaintext_dev_mode=True) as endpoints,
        running_prometheus(metrics, tmp_path_factory.mktemp("prometheus")) as prometheus,
    ):
        _run_story(endpoints)
        # The story: a product bought with a code and refunded; a 2-block top-up; 450 and 700 used;
        # an automatic 1-block top-up when the balance fell below 1000.
        funnel_query = "sum by (kind, to_status) (payment_order_transitions_total)"
        funnel_expected = {
            ("PRODUCT", "PENDING"): 1, ("PRODUCT", "PAID"): 1, ("PRODUCT", "FULFILLED"): 1,
            ("PRODUCT", "REFUNDED"): 1,
            ("TOP_UP", "PENDING"): 2, ("TOP_UP", "PAID"): 2, ("TOP_UP", "FULFILLED"): 2,
        }  # fmt: skip
        funnel = _settled(lambda: _vector(prometheus, funnel_query, "kind", "to_status"), funnel_expected)
        credited_query = 'sum by (reason) (balance_credited_minor_total{currency="USD"})'
        credited = _settled(lambda: _vector(prometheus, credited_query, "reason"), {("TOP_UP",): 3000})
        debited_query = 'sum by (reason) (balance_debited_minor_total{currency="USD"})'
        debited = _settled(lambda: _vector(prometheus, debited_query, "reason"), {("USAGE",): 1150})
        webhooks_query = "sum by (event_type, outcome) (payment_webhook_events_total)"
        webhooks = _vector(prometheus, webhooks_query, "event_type", "outcome")
        # Calls the story makes a known number of times (its polling reads vary, so they are left out).
        methods = "CreateCheckoutSession|CreateTopUpSession|RefundOrder|Credit|Debit|VerifyAccount|"
        methods += "ReserveDiscountCode|ConfirmDiscountCode"
        rpc_query = f'sum by (grpc_method, grpc_code) (grpc_server_handled_total{{grpc_method=~"{methods}"}})'
        rpcs_expected = {
            ("CreateCheckoutSession", "OK"): 1, ("CreateTopUpSession", "OK"): 1, ("RefundOrder", "OK"): 1,
            ("Credit", "OK"): 2, ("Debit", "OK"): 2, ("VerifyAccount", "OK"): 1,
            ("ReserveDiscountCode", "OK"): 1, ("ConfirmDiscountCode", "OK"): 1,
        }  # fmt: skip
        rpcs = _settled(lambda: _vector(prometheus, rpc_query, "grpc_method", "grpc_code"), rpcs_expected)
        print("RPCS", rpcs)
        _chart(funnel, credited, debited, CHART)
    assert funnel == funnel_expected
    assert credited == {("TOP_UP",): 3000}
    assert debited == {("USAGE",): 1150}
    assert rpcs == rpcs_expected
    # The saved card's payment_intent.succeeded races its own synchronous fulfilment: not counted here.
    assert webhooks[("checkout.session.completed", "fulfilled")] == 2
    assert webhooks[("charge.refunded", "refunded")] == 1
    assert CHART.stat().st_size > 10_000
