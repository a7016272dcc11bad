"""Turns raw runs into medians with min/max, ratios to the empty handler, a text table and target checks."""

from __future__ import annotations

import math
import os
from statistics import median

from bench.cases import BY_NAME

CLIENT_BOUND = 0.9  # client CPU seconds per wall second at which the client, not the server, is the limit
MACHINE_BOUND = 0.9  # share of all cores busy (server + client + Redis) at which the box itself is the limit
IGNORED_COMMANDS = frozenset({"ping", "info", "monitor", "client", "hello", "select", "config|get"})


def commands_per_call(before: dict, after: dict, calls: int) -> dict[str, float]:
    """`INFO commandstats` delta per call, script-internal commands included (Redis counts them too)."""
    delta = {}
    for key, stats in after.items():
        name = key.removeprefix("cmdstat_")
        n = stats["calls"] - before.get(key, {}).get("calls", 0)
        if n and name not in IGNORED_COMMANDS and calls:
            delta[name] = n / calls
    return delta


def _spread(values: list[float]) -> dict:
    return {"median": median(values), "min": min(values), "max": max(values)}


def summarize(samples: list[dict]) -> dict:
    """Median with min and max over the runs of one case at one concurrency."""
    for s in samples:
        if "unavailable" in s:
            return {"status": "unavailable", "reason": s["unavailable"]}
        if "error" in s:
            return {"status": "error", "reason": s["error"]}
    cores = os.cpu_count() or 1
    errors: dict[str, int] = {}
    for s in samples:
        for code, n in s["errors"].items():
            errors[code] = errors.get(code, 0) + n

    def per_call_us(name: str) -> float:
        return median(s["cpu_s"].get(name, math.nan) / max(s["count"], 1) * 1e6 for s in samples)

    busy = median(sum(s["cpu_s"].values()) / s["duration_s"] / cores for s in samples)
    out = {
        "status": "errors" if errors else "ok",
        "runs": len(samples),
        "rps": _spread([s["rps"] for s in samples]),
        **{f"{q}_ms": _spread([s["latency_ms"][q] for s in samples]) for q in ("p50", "p99", "p999")},
        "cpu_us_per_call": {name: per_call_us(name) for name in ("server", "client", "redis")},
        "client_saturation": median(s["client_saturation"] for s in samples),
        "machine_busy": busy,
        "redis_commands_per_call": {
            name: median(s.get("redis_commands", {}).get(name, 0.0) for s in samples)
            for name in sorted({n for s in samples for n in s.get("redis_commands", {})})
        },
        "errors": errors,
        "first_error": next((s["first_error"] for s in samples if s.get("first_error")), None),
    }
    out["flags"] = [
        flag
        for flag, on in (
            ("client-bound", out["client_saturation"] >= CLIENT_BOUND),
            ("machine-bound", busy >= MACHINE_BOUND),
            ("errors", bool(errors)),
        )
        if on
    ]
    return out


def add_ratios(results: list[dict]) -> None:
    """Each case's throughput and p99 as a multiple of the empty handler's at the same concurrency,
    measured by the same load generator."""
    empty = {(r.get("client"), r["concurrency"]): r for r in results if r["case"] == "empty" and r.get("rps")}
    for r in results:
        base = empty.get((r.get("client"), r["concurrency"]))
        if base and r.get("rps"):
            r["rps_vs_empty"] = r["rps"]["median"] / base["rps"]["median"]
            r["p99_vs_empty"] = r["p99_ms"]["median"] / base["p99_ms"]["median"]


def _fmt(value: float | None, spec: str = ".2f") -> str:
    return "-" if value is None or (isinstance(value, float) and math.isnan(value)) else format(value, spec)


def table(results: list[dict]) -> str:
    head = (
        f"{'case':<24}{'conc':>5} {'rps median [min-max]':>24} {'p50':>7} {'p99':>7} {'p99.9':>7}"
        f" {'x empty':>8} {'x e.p99':>8} {'us srv/cli/rds':>15} {'cli sat':>7} {'redis':>6}  flags"
    )
    lines = [head, "-" * len(head)]
    for r in results:
        label = f"{r['case']} [{r['client']}]" if r.get("cross_check") else r["case"]
        prefix = f"{label:<24}{r['concurrency']:>5} "
        if r["status"] in ("unavailable", "error"):
            lines.append(prefix + f"{r['status'].upper()}: {r['reason'][:90]}")
            continue
        rps = r["rps"]
        total_cmds = sum(r["redis_commands_per_call"].values())
        cpu = "/".join(_fmt(r["cpu_us_per_call"][n], ".0f") for n in ("server", "client", "redis"))
        lines.append(
            prefix
            + f"{rps['median']:>8.0f} [{rps['min']:>6.0f}-{rps['max']:>6.0f}] "
            + f"{r['p50_ms']['median']:>7.2f} {r['p99_ms']['median']:>7.2f} {r['p999_ms']['median']:>7.2f}"
            + f" {_fmt(r.get('rps_vs_empty')):>8} {_fmt(r.get('p99_vs_empty')):>8}"
            + f" {cpu:>15} {r['client_saturation']:>7.2f}"
            + f" {total_cmds:>6.2f}  {','.join(r['flags'])}"
        )
    lines += [
        "latencies in ms; x empty = throughput / empty handler's, x e.p99 = p99 / its p99 (same in flight,"
        " same client); [grpc-aio] or [lean] marks a cross-check row run with the other load generator",
        "us srv/cli/rds = CPU microseconds per call used by server, client and Redis;"
        " cli sat = client CPU s per wall s",
        "redis = Redis commands per call, script-internal ones included;"
        " flags: client-bound (cli sat >= 0.9), machine-bound (all cores >= 90 % busy)",
    ]
    return "\n".join(lines)


def _check(name: str, value: float | None, goal: str, ok: bool | None) -> dict:
    status = "n/a" if value is None or ok is None else ("met" if ok else "NOT met")
    return {"target": name, "value": value, "goal": goal, "status": status}


def targets(results: list[dict], round_trips: dict, scale: list[dict]) -> list[dict]:
    """The issue's targets, each evaluated from this run (n/a when the case did not run)."""
    by = {(r["case"], r["concurrency"]): r for r in results}
    checks = []
    for conc in (16, 64):
        debit, quote = by.get(("debit_spread", conc), {}), by.get(("quote", conc), {})
        rps, p99, qrps = debit.get("rps_vs_empty"), debit.get("p99_vs_empty"), quote.get("rps_vs_empty")
        checks.append(_check(f"Debit rps >= 0.8x empty @{conc}", rps, ">= 0.8", rps and rps >= 0.8))
        checks.append(_check(f"Debit p99 <= 1.5x empty @{conc}", p99, "<= 1.5", p99 and p99 <= 1.5))
        checks.append(_check(f"GetQuote rps >= 0.9x empty @{conc}", qrps, ">= 0.9", qrps and qrps >= 0.9))
    for rpc in ("Debit", "Credit", "CreateHold", "CaptureHold"):
        n = round_trips.get(rpc, {}).get("top_level_per_call")
        checks.append(_check(f"Redis commands sent per {rpc}", n, "== 1", n is None or n == 1))
    ok = [s for s in scale if s.get("rps")]
    if len(ok) >= 2:
        ratio = ok[-1]["rps"]["median"] / ok[0]["rps"]["median"]
        goal = f"{ok[-1]['accounts']:,} vs {ok[0]['accounts']:,} accounts >= 0.9"
        checks.append(_check("Debit rps at scale", ratio, goal, ratio >= 0.9))
    else:
        checks.append(_check("Debit rps at scale", None, ">= 0.9", None))
    return checks


def targets_text(checks: list[dict]) -> str:
    return "\n".join(
        f"  {c['status']:<8} {c['target']:<36} {_fmt(c['value'])} (goal {c['goal']})" for c in checks
    )


def title(case: str) -> str:
    return BY_NAME[case].title if case in BY_NAME else case


def extras_text(round_trips: dict, memory: dict, scale: list[dict]) -> str:
    """Redis commands per RPC (from MONITOR), memory per account and entry, and Debit at scale."""
    lines = ["Redis commands sent per RPC (MONITOR; each is at most one round trip):"]
    for rpc, found in round_trips.items():
        if "unavailable" in found:
            lines.append(f"  {rpc:<12} unavailable: {found['unavailable'][:90]}")
            continue
        top = ", ".join(f"{k} {v:g}" for k, v in found["top_level"].items()) or "none"
        inner = ", ".join(f"{k} {v:g}" for k, v in found["in_script"].items()) or "none"
        lines.append(f"  {rpc:<12} {found['top_level_per_call']:g} sent ({top}); inside scripts: {inner}")
    if memory:
        one = ", ".join(f"{k} {v}" for k, v in memory["bytes_per_account_by_kind"].items())
        more = ", ".join(f"{k} {v:.0f}" for k, v in memory["bytes_per_credit_by_kind"].items())
        lines.append(
            f"Redis memory (MEMORY USAGE): {memory['bytes_per_account']} B per account with one credit"
            f" ({one}); {memory['bytes_per_credit']:.0f} B per further credit ({more};"
            f" mean of {memory['entries']})"
        )
    if scale:
        lines.append("Debit (spread) at scale:")
        for s in scale:
            if not s.get("rps"):
                lines.append(f"  {s['accounts']:>9,} accounts: {s['status']}: {s.get('reason', '')[:80]}")
                continue
            per = s["used_memory_per_added_account"]
            cpu = s["cpu_us_per_call"]
            lines.append(
                f"  {s['accounts']:>9,} accounts: {s['rps']['median']:>7.0f} rps"
                f" [{s['rps']['min']:.0f}-{s['rps']['max']:.0f}] p99 {s['p99_ms']['median']:.2f} ms;"
                f" CPU us per Debit: server {cpu['server']:.0f}, Redis {cpu['redis']:.0f};"
                f" preload {s['preload_s']:.1f} s, used_memory {s['used_memory_bytes'] / 2**20:.1f} MiB"
                + (f", {per:.0f} B per added account" if per else "")
            )
    return "\n".join(lines)
