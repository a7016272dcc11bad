"""The Redis ceilings: redis-benchmark replaying Debit's EVALSHA, and the spec the Python clients replay."""

from __future__ import annotations

import re
import resource
import shutil
import subprocess
import uuid

from bench.procfs import cpu_seconds


def redis_py_spec(debit: dict) -> dict:
    """What the redis_py and script_pipe cases replay: keys and args, the account and request id to vary."""
    _, sha, numkeys, *rest = debit["evalsha"]
    n = int(numkeys)
    return {
        "sha": sha,
        "keys": rest[:n],
        "args": rest[n:],
        "account": debit["account"],
        "request_id": debit["request_id"],
    }


def redis_benchmark_binary() -> str | None:
    return shutil.which("redis-benchmark") or shutil.which("valkey-benchmark")


def redis_benchmark_argv(binary: str, port: int, concurrency: int, requests: int, debit: dict) -> list[bytes]:
    """The captured EVALSHA on the hot account, each request id made random by `__rand_int__`."""
    # redis-benchmark never seeds its generator, so every run draws the same numbers: a fresh prefix
    # keeps a run from replaying the previous run's requests (a replay is a cheaper path).
    fresh = f"rb-{uuid.uuid4().hex[:12]}-__rand_int__"
    command = [a.replace(debit["request_id"], fresh) for a in debit["evalsha"]]
    head = [binary, "-h", "127.0.0.1", "-p", str(port), "-c", str(concurrency), "-n", str(requests)]
    # Arguments are latin-1 code points of the raw bytes Redis saw.
    return [a.encode() for a in (*head, "-r", "1000000000")] + [a.encode("latin-1") for a in command]


_PERCENTILE = re.compile(r"^\s*([\d.]+)% <= ([\d.]+) milliseconds", re.M)
_THROUGHPUT = re.compile(r"throughput summary: ([\d.]+) requests per second")
_COMPLETED = re.compile(r"(\d+) requests completed")


def parse_redis_benchmark(text: str) -> dict:
    """Throughput and latency percentiles from redis-benchmark's full (non-CSV) report."""
    section = text.split("Latency by percentile distribution:", 1)[-1].split("Cumulative distribution", 1)[0]
    points = [(float(p), float(ms)) for p, ms in _PERCENTILE.findall(section)]

    def at(q: float) -> float:  # the first reported bucket at or above q: an upper bound
        return next((ms for p, ms in points if p >= q), float("nan"))

    count, rps = int(_COMPLETED.search(text)[1]), float(_THROUGHPUT.search(text)[1])
    return {
        "count": count,
        "duration_s": count / rps,  # its own "completed in" figure has only two decimals
        "rps": rps,
        "latency_ms": {"p50": at(50.0), "p99": at(99.0), "p999": at(99.9), "max": at(100.0)},
    }


def run_redis_benchmark(
    binary: str, port: int, concurrency: int, requests: int, debit: dict, redis_pid: int
) -> dict:
    """One redis-benchmark run with the client's and Redis's CPU, in bench.loadgen's result shape."""
    argv = redis_benchmark_argv(binary, port, concurrency, requests, debit)
    before_children = resource.getrusage(resource.RUSAGE_CHILDREN)
    redis_before = cpu_seconds(redis_pid)
    out = subprocess.run(argv, capture_output=True, text=True, check=True, timeout=600)
    redis_cpu = cpu_seconds(redis_pid) - redis_before
    after_children = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = parse_redis_benchmark(out.stdout.replace("\r", "\n"))
    client = (after_children.ru_utime - before_children.ru_utime) + (
        after_children.ru_stime - before_children.ru_stime
    )
    return result | {
        "total_calls": result["count"],
        "errors": {},
        "cpu_s": {"client": client, "redis": redis_cpu},
        "client_saturation": client / result["duration_s"] if result["duration_s"] else 0.0,
    }
