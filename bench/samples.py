"""What every load generator reports: one JSON object of counts, latency percentiles and CPU seconds."""

from __future__ import annotations

import math
import time

from bench.procfs import cpu_seconds


def percentile(ordered: list[float], q: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered), max(1, math.ceil(q * len(ordered)))) - 1]


def summary(
    latencies: list[float], elapsed: float, total_calls: int, errors: dict, first_error: str | None, cpu: dict
) -> dict:
    """The result fields every load generator reports; latencies in seconds, in any order."""
    ms = sorted(x * 1000 for x in latencies)
    return {
        "count": len(ms),
        "total_calls": total_calls,  # for per-call Redis command counts
        "errors": errors,
        "first_error": first_error,
        "duration_s": elapsed,
        "rps": len(ms) / elapsed,
        "latency_ms": {
            "p50": percentile(ms, 0.50),
            "p99": percentile(ms, 0.99),
            "p999": percentile(ms, 0.999),
            "mean": sum(ms) / len(ms) if ms else float("nan"),
            "max": ms[-1] if ms else float("nan"),
        },
        "cpu_s": cpu,
    }


def cpu_snapshot(watch: dict[str, int]) -> dict[str, float]:
    """CPU seconds so far of this process ("client") and of each watched process."""
    return {"client": time.process_time(), **{name: cpu_seconds(pid) for name, pid in watch.items()}}
