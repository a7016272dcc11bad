"""balance_svc variants against the shipped process in one run: metrics off, tracing on, replica acks, two
processes on one port.

A variant is one or more extra balance_svc processes started with the stack's environment plus a few
overrides. Each is driven with Debit spread over accounts, at every concurrency of the plan above 1.
Runs interleave: run 1 of the empty server, the shipped balance_svc and every variant, then run 2, and
so on. Drift in machine load then hits all alike.

Each variant is compared with the shipped process and the empty handler measured beside it.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import time
import urllib.request
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from statistics import median
from typing import TYPE_CHECKING, Any

import redis
from prometheus_client.parser import text_string_to_metric_families

from bench import report, seed
from bench.procfs import cpu_seconds, established_connections
from bench.procs import HOST, python_module, wait_tcp
from devtools.redis_procs import RedisProcess, free_port, wait_until_replicated

if TYPE_CHECKING:
    from bench.runner import Bench

CASE = "debit_spread"
_SLACK_S = 60.0
_ATTEMPTS = 4  # two channels land on one process half the time: try again, up to this often
_LEAD_S = 3.0  # how long generators that run side by side may take to start, one after the other


@dataclass(frozen=True)
class Variant:
    name: str
    about: str
    env: Mapping[str, str] = field(default_factory=dict)
    processes: int = 1  # more than 1: all on one port with GRPC_REUSEPORT, each load channel on one
    replicated: bool = False  # on a Redis primary with one replica instead of the stack's Redis
    traced: bool = False  # exports spans to the bench's OTLP sink


_TRACING = {"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_INSECURE": "true"}
VARIANTS = (
    Variant("shipped_twin", "as shipped, in a process started with the variants: the A/B's noise floor"),
    Variant(
        "metrics_off",
        "METRICS_PORT=0: no /metrics, and no RPC or Redis script metrics where svckit then skips them",
        {"METRICS_PORT": "0"},
    ),
    Variant(
        "tracing_1pct",
        "OTLP export to a discarding collector, parentbased_traceidratio 0.01",
        _TRACING | {"OTEL_TRACES_SAMPLER": "parentbased_traceidratio", "OTEL_TRACES_SAMPLER_ARG": "0.01"},
        traced=True,
    ),
    Variant(
        "tracing_100pct",
        "OTLP export to a discarding collector, always_on",
        _TRACING | {"OTEL_TRACES_SAMPLER": "always_on"},
        traced=True,
    ),
    Variant(
        "replica_acks0", "a Redis with one replica, REDIS_MIN_REPLICA_ACKS=0 (ScriptPipe)", replicated=True
    ),
    Variant(
        "acks1",
        "the same Redis, REDIS_MIN_REPLICA_ACKS=1 (EVALSHA+WAIT pipelined through redis-py)",
        {"REDIS_MIN_REPLICA_ACKS": "1"},
        replicated=True,
    ),
    Variant(
        "reuseport_x2",
        "two processes on one port (GRPC_REUSEPORT=true), one load channel each",
        {"GRPC_REUSEPORT": "true"},
        processes=2,
    ),
)
BY_NAME = {v.name: v for v in VARIANTS}
# `make bench-smoke` keeps one variant per mechanism working: env overrides with the OTLP sink, the
# replicated Redis, and processes sharing a port.
SMOKE = ("tracing_1pct", "acks1", "reuseport_x2")


@dataclass
class Target:
    """What one row drives: an address, the server processes behind it, and the Redis they use."""

    name: str
    about: str
    addr: str
    servers: list[str]  # the stack's child names
    redis_url: str
    watch: dict[str, int]  # beyond the servers: redis, and the replica or OTLP sink where there is one
    unavailable: str | None = None


def load_argv(
    bench: Bench, process: str, watch: Mapping[str, int], concurrency: int, accounts: int, warmup_s: float
) -> list[str]:
    """Debit spread over `accounts` against the stack's `process`, by whichever load generator the bench
    uses; `watch` names the CPU it reports."""
    return bench.loadgen_argv(
        CASE, concurrency, accounts, bench.plan.duration_s, process=process, watching=watch, warmup_s=warmup_s
    )


def _launch(argvs: list[list[str]]) -> list[subprocess.Popen[str]]:
    return [subprocess.Popen(a, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for a in argvs]


def _collect(procs: list[subprocess.Popen[str]], timeout: float) -> list[dict]:
    """Each load generator's JSON result, or an error."""
    results = []
    for proc in procs:
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            results.append({"error": f"load generator did not finish in {timeout:.0f}s"})
            continue
        if proc.returncode != 0 or not out.strip():
            tail = " | ".join(err.strip().splitlines()[-3:])
            results.append({"error": f"load generator exited {proc.returncode}: {tail}"})
        else:
            results.append(json.loads(out.strip().splitlines()[-1]))
    return results


def handled_debits(metrics_addr: str) -> float:
    """grpc_server_handled_total of Debit, all codes, from one process's /metrics."""
    with urllib.request.urlopen(f"http://{metrics_addr}/metrics", timeout=5) as answer:
        text = answer.read().decode()
    return sum(
        s.value
        for family in text_string_to_metric_families(text)
        if family.name == "grpc_server_handled"
        for s in family.samples
        if s.name == "grpc_server_handled_total" and s.labels.get("grpc_method") == "Debit"
    )


def _until_connected(port: int, pids: list[int], channels: int, deadline: float) -> list[int]:
    """Connections each server process holds on `port`, once the generators' `channels` are all open
    (or at `deadline`, if one never connects)."""
    while True:
        counts = [established_connections(pid, port) for pid in pids]
        if sum(counts) >= channels or time.perf_counter() > deadline:
            return counts
        time.sleep(0.05)


@dataclass(frozen=True)
class _Reading:
    """Debits handled and CPU seconds used so far, per process, at one moment."""

    at: float
    calls: list[float]
    cpu: dict[str, float]

    @classmethod
    def take(cls, metrics: list[str], pids: Mapping[str, int]) -> _Reading:
        calls = [handled_debits(m) for m in metrics]
        return cls(time.perf_counter(), calls, {name: cpu_seconds(pid) for name, pid in pids.items()})


def _shared_port_sample(parts: list[dict], servers: list[str], start: _Reading, end: _Reading) -> dict:
    """One sample of a multi-process target, in bench.loadgen's result shape.

    Calls and CPU come from the bench's own window, inside every generator's measured time, as the
    generators start a little apart. Latency quantiles are the worse generator's; client CPU adds up.
    """
    window = end.at - start.at
    calls = [b - a for a, b in zip(start.calls, end.calls, strict=True)]
    cpu = {name: end.cpu[name] - start.cpu[name] for name in end.cpu}
    per_process_cpu = [cpu.pop(name) for name in servers]
    errors: dict[str, int] = {}
    for p in parts:
        for code, n in p["errors"].items():
            errors[code] = errors.get(code, 0) + n
    return {
        "case": CASE,
        "concurrency": sum(p["concurrency"] for p in parts),
        "count": int(sum(calls)),
        "total_calls": sum(p["total_calls"] for p in parts),
        "errors": errors,
        "first_error": next((p["first_error"] for p in parts if p.get("first_error")), None),
        "duration_s": window,
        "rps": sum(calls) / window,
        "latency_ms": {q: max(p["latency_ms"][q] for p in parts) for q in parts[0]["latency_ms"]},
        "cpu_s": cpu | {"server": sum(per_process_cpu), "client": sum(p["cpu_s"]["client"] for p in parts)},
        "client_saturation": max(p["client_saturation"] for p in parts),
        "per_process_calls": calls,
        "per_process_rps": [c / window for c in calls],
        "per_process_cpu_s": per_process_cpu,
        "generators": parts,
    }


class Variants:
    """Starts the variants' processes on a prepared Bench, measures them and summarizes."""

    def __init__(self, bench: Bench, names: tuple[str, ...]) -> None:
        self.bench, self.stack = bench, bench.stack
        self.variants = [BY_NAME[n] for n in names]
        self.accounts = bench.plan.scale[0] if bench.cloner else 1
        self.concurrency = [c for c in bench.plan.concurrency if c > 1] or [16]
        self.targets: list[Target] = []
        self.samples: dict[tuple[str, int], list[dict]] = defaultdict(list)

    # -- setup -------------------------------------------------------------------------------

    def start(self) -> None:
        stack = self.stack
        assert stack.redis is not None and stack.redis.pid is not None
        main = {"redis": stack.redis.pid}
        self.targets = [
            Target(
                "empty",
                "empty grpc.aio Debit handler",
                stack.addrs["empty"],
                ["empty"],
                stack.redis.url,
                main,
            ),
            Target(
                "shipped",
                "balance_svc as shipped",
                stack.addrs["balance"],
                ["balance"],
                stack.redis.url,
                main,
            ),
        ]
        sink = self._start_sink() if any(v.traced for v in self.variants) else None
        replicated = self._start_replicated() if any(v.replicated for v in self.variants) else None
        specs = []
        for v in self.variants:
            addr, env, watch, url = f"{HOST}:{free_port()}", dict(v.env), dict(main), stack.redis.url
            if v.traced and sink:
                env["OTEL_EXPORTER_OTLP_ENDPOINT"] = f"http://{HOST}:{sink[0]}"
                watch["sink"] = sink[1]
            if v.replicated and replicated:
                primary, replica = replicated
                assert primary.pid is not None and replica.pid is not None
                url, env["REDIS_URL"] = primary.url, primary.url
                watch = {"redis": primary.pid, "replica": replica.pid}
            names = [f"balance:{v.name}" + (f":{i}" if v.processes > 1 else "") for i in range(v.processes)]
            specs += [(name, "balance", env, addr) for name in names]
            self.targets.append(Target(v.name, v.about, addr, names, url, watch))
        self.stack.start_services(specs)
        for target in self.targets:
            self._check(target, sink, replicated)
        if replicated:
            self._seed_replicated(replicated[0])

    def _start_sink(self) -> tuple[int, int] | None:
        port = free_port()
        child = self.stack.spawn("otlp_sink", python_module("bench.otlp_sink", "--port", str(port)))
        child.start()
        self.stack.settle(child, lambda: wait_tcp(child, port))
        return None if "otlp_sink" in self.stack.failed else (port, child.pid)

    def _start_replicated(self) -> tuple[RedisProcess, RedisProcess] | None:
        """A primary (AOF off, as the stack's) with one replica of its own; None if it does not come up."""
        workdir = self.stack.workdir
        primary = RedisProcess(workdir / "redis-primary", appendonly=False)
        self.stack.extra_redis.append(primary)
        replica = RedisProcess(
            workdir / "redis-replica", appendonly=False, extra_args=["--replicaof", HOST, str(primary.port)]
        )
        self.stack.extra_redis.append(replica)
        try:
            primary.start()
            replica.start()
            wait_until_replicated(primary.port)
        except RuntimeError as exc:
            self.stack.failed["redis-replicated"] = str(exc)
            return None
        return primary, replica

    def _check(self, target: Target, sink: tuple[int, int] | None, replicated: object) -> None:
        """Marks a target whose processes or helpers did not start; waits for each one on a shared port."""
        v = BY_NAME.get(target.name)
        missing = [n for n in target.servers if n in self.stack.failed]
        if missing:
            target.unavailable = (
                f"{missing[0]} did not start: {self.stack.failed[missing[0]].splitlines()[0]}"
            )
        elif v and v.traced and sink is None:
            target.unavailable = (
                f"the OTLP sink did not start: {self.stack.failed['otlp_sink'].splitlines()[0]}"
            )
        elif v and v.replicated and replicated is None:
            target.unavailable = (
                f"Redis with a replica: {self.stack.failed['redis-replicated'].splitlines()[0]}"
            )
        elif len(target.servers) > 1:
            # The health check on a shared port reaches either process: each one's /metrics says it is up.
            for name in target.servers:
                port = int(self.stack.metrics_addrs[name].rsplit(":", 1)[1])
                self.stack.settle(
                    self.stack.children[name], lambda c=self.stack.children[name], p=port: wait_tcp(c, p)
                )
            if failed := [n for n in target.servers if n in self.stack.failed]:
                target.unavailable = f"{failed[0]} did not start"

    def _seed_replicated(self, primary: RedisProcess) -> None:
        """The replicated Redis gets the stack's accounts: seeded through a variant, then cloned."""
        ready = [t for t in self.targets if t.redis_url == primary.url and t.unavailable is None]
        if not ready:
            return
        try:
            seed.seed_balance(ready[0].addr, self.stack.pki)
            cloner = seed.Cloner(primary.url)
            cloner.grow_to(self.accounts)
            cloner.close()
            wait_until_replicated(primary.port)
        except Exception as exc:  # any failure makes these rows unavailable, not the run
            for t in ready:
                t.unavailable = f"seeding the replicated Redis: {exc}"

    # -- measuring ---------------------------------------------------------------------------

    def measure(self) -> None:
        plan = self.bench.plan
        for run in range(1, plan.runs + 1):
            for concurrency in self.concurrency:
                for target in self.targets:
                    if target.unavailable:
                        continue
                    sample = self._sample(target, concurrency)
                    label = f"variants run {run}/{plan.runs} {target.name} @{concurrency}"
                    if "error" in sample or "unavailable" in sample:
                        target.unavailable = sample.get("error") or sample["unavailable"]
                        _say(f"{label}: {target.unavailable}")
                        for name in target.servers:
                            _say(f"--- last lines of {name}'s log:\n{self.stack.children[name].tail(8)}\n---")
                        continue
                    self.samples[(target.name, concurrency)].append(sample)
                    per = sample.get("per_process_rps")
                    split = f" ({' + '.join(f'{r:.0f}' for r in per)})" if per else ""
                    _say(f"{label}: {sample['rps']:.0f} rps{split} p99 {sample['latency_ms']['p99']:.2f} ms")

    def _sample(self, target: Target, concurrency: int) -> dict:
        plan = self.bench.plan
        timeout = plan.warmup_s + _LEAD_S + plan.duration_s + _SLACK_S
        pids = {name: self.stack.pid(name) for name in target.servers}
        with redis.Redis.from_url(target.redis_url) as client:
            before = client.info("commandstats")
            if len(target.servers) == 1:
                watch = {"server": pids[target.servers[0]], **target.watch}
                argv = load_argv(
                    self.bench, target.servers[0], watch, concurrency, self.accounts, plan.warmup_s
                )
                (result,) = _collect(_launch([argv]), timeout)
            else:
                result = self._sample_shared_port(target, concurrency, pids | target.watch, timeout)
            if "count" in result:
                after = client.info("commandstats")
                result["redis_commands"] = report.commands_per_call(before, after, result["total_calls"])
        return result

    def _sample_shared_port(
        self, target: Target, concurrency: int, pids: dict[str, int], timeout: float
    ) -> dict:
        """One generator per process, `concurrency` split among them.

        The kernel picks each connection's process. Once every process holds one, the bench waits
        `warmup_s` and reads the processes' counters and CPU over `duration_s`; the generators warm up
        `_LEAD_S` longer than that, so the bench's window lies inside each one's load. When a process holds
        none of the generators' connections (/proc), two channels went to one process: the generators are
        stopped and started again (the last try is measured whatever it shows).
        """
        plan, n = self.bench.plan, len(target.servers)
        metrics = [self.stack.metrics_addrs[name] for name in target.servers]
        warmup_s = plan.warmup_s + _LEAD_S
        argv = load_argv(self.bench, target.servers[0], {}, concurrency // n, self.accounts, warmup_s)
        port = int(target.addr.rsplit(":", 1)[1])
        for attempt in range(1, _ATTEMPTS + 1):
            launched = time.perf_counter()
            procs = _launch([argv] * n)
            landed = _until_connected(port, [pids[name] for name in target.servers], n, launched + _LEAD_S)
            if min(landed) > 0 or attempt == _ATTEMPTS:
                break
            _say(f"variants {target.name}: connections per process {landed}; the channels share one, again")
            for proc in procs:
                proc.kill()
                proc.communicate()
        time.sleep(plan.warmup_s)
        start = _Reading.take(metrics, pids)
        time.sleep(plan.duration_s)
        end = _Reading.take(metrics, pids)
        parts = _collect(procs, timeout)
        if failed := next((p for p in parts if "count" not in p), None):
            return failed
        return _shared_port_sample(parts, target.servers, start, end) | {
            "connections": landed,
            "attempt": attempt,
        }

    # -- results -----------------------------------------------------------------------------

    def results(self) -> dict:
        rows = []
        for concurrency in self.concurrency:
            for target in self.targets:
                samples = self.samples.get((target.name, concurrency), [])
                row: dict[str, Any] = {
                    "variant": target.name,
                    "about": target.about,
                    "concurrency": concurrency,
                }
                if not samples:
                    rows.append(
                        row | {"status": "unavailable", "reason": target.unavailable or "not measured"}
                    )
                    continue
                row |= report.summarize(samples)
                row["cpu_us_per_call"] |= {
                    name: median(s["cpu_s"].get(name, math.nan) / max(s["count"], 1) * 1e6 for s in samples)
                    for name in ("replica", "sink")
                    if name in samples[0]["cpu_s"]
                }
                if "per_process_rps" in samples[0]:
                    row["per_process_rps"] = [
                        median(col) for col in zip(*(s["per_process_rps"] for s in samples), strict=True)
                    ]
                    row["per_process_cpu_busy"] = [
                        median(col)
                        for col in zip(
                            *([c / s["duration_s"] for c in s["per_process_cpu_s"]] for s in samples),
                            strict=True,
                        )
                    ]
                rows.append(row | {"samples": samples})
        _add_ratios(rows)
        return {
            "case": CASE,
            "accounts": self.accounts,
            "concurrency": self.concurrency,
            "rows": rows,
            "acks_split": _acks_split(rows, self.bench),
        }


def _add_ratios(rows: list[dict]) -> None:
    """Throughput, p99 and server CPU per call as multiples of the shipped and the empty server's."""
    by = {(r["variant"], r["concurrency"]): r for r in rows if r.get("rps")}
    for r in rows:
        if not r.get("rps"):
            continue
        for base_name in ("shipped", "empty"):
            base = by.get((base_name, r["concurrency"]))
            if base is None:
                continue
            # Per run too: each run measured the two back to back, so their ratio drifts less than medians.
            per_run = [
                _server_us(mine) / _server_us(theirs)
                for mine, theirs in zip(r["samples"], base["samples"], strict=False)
            ]
            r[f"vs_{base_name}"] = {
                "rps": r["rps"]["median"] / base["rps"]["median"],
                "p99": r["p99_ms"]["median"] / base["p99_ms"]["median"],
                "server_cpu": r["cpu_us_per_call"]["server"] / base["cpu_us_per_call"]["server"],
                "server_cpu_per_run": per_run,
            }


def _server_us(sample: dict) -> float:
    return sample["cpu_s"]["server"] / max(sample["count"], 1) * 1e6


def _acks_split(rows: list[dict], bench: Bench) -> dict:
    """Where acks=1's server CPU goes: redis-py instead of ScriptPipe (the client CPU gap of the redis_py and
    script_pipe baseline rows, same EVALSHA) and the rest (WAIT and its reply), per concurrency."""
    by = {(r["variant"], r["concurrency"]): r for r in rows if r.get("rps")}
    split = {}
    for conc in {r["concurrency"] for r in rows}:
        acks1, acks0 = by.get(("acks1", conc)), by.get(("replica_acks0", conc))
        if not (acks1 and acks0):
            continue
        total = acks1["cpu_us_per_call"]["server"] - acks0["cpu_us_per_call"]["server"]
        entry = {
            "server_us_per_call": total,
            "p99_ms": acks1["p99_ms"]["median"] - acks0["p99_ms"]["median"],
            "rps_ratio": acks1["rps"]["median"] / acks0["rps"]["median"],
        }
        pipe, redis_py = (bench.samples.get((c, conc)) for c in ("script_pipe", "redis_py"))
        if pipe and redis_py and all("count" in s for s in (*pipe, *redis_py)):
            gap = (
                report.summarize(redis_py)["cpu_us_per_call"]["client"]
                - report.summarize(pipe)["cpu_us_per_call"]["client"]
            )
            entry |= {"redis_py_over_script_pipe_us": gap, "wait_and_rest_us": total - gap}
        split[str(conc)] = entry
    return split


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def run(bench: Bench, names: tuple[str, ...]) -> dict:
    """Starts, measures and summarizes the variants; the stack stops their processes with its own."""
    if not names:
        return {}
    if "debit_spread" in bench.unavailable or not bench.stack.serving("balance"):
        return {"unavailable": bench.unavailable.get("debit_spread", "balance_svc is not serving")}
    variants = Variants(bench, names)
    _say(f"variants: starting {', '.join(names)}")
    started = time.perf_counter()
    variants.start()
    _say(f"variants: started in {time.perf_counter() - started:.1f} s")
    variants.measure()
    _say(f"variants: done in {time.perf_counter() - started:.1f} s")
    return variants.results()


def text(doc: dict) -> str:
    """The variants table, the per-process split of multi-process variants and where acks=1's cost goes."""
    if not doc:
        return ""
    if "unavailable" in doc:
        return f"variants: unavailable: {doc['unavailable']}"
    head = (
        f"{'variant':<16}{'conc':>5} {'rps median [min-max]':>24} {'p99':>7} {'us srv/cli/rds':>16}"
        f" {'x shipped rps/p99':>18} {'x shipped srv [runs]':>22} {'x empty rps/p99':>16}  flags"
    )
    lines = [
        f"balance_svc variants (Debit spread over {doc['accounts']:,} accounts, interleaved runs):",
        head,
        "-" * len(head),
    ]
    for r in doc["rows"]:
        prefix = f"{r['variant']:<16}{r['concurrency']:>5} "
        if not r.get("rps"):
            lines.append(prefix + f"{r['status'].upper()}: {r.get('reason', '')[:90]}")
            continue
        cpu = "/".join(_fmt(r["cpu_us_per_call"][n], ".0f") for n in ("server", "client", "redis"))
        shipped, empty = r.get("vs_shipped", {}), r.get("vs_empty", {})
        runs = shipped.get("server_cpu_per_run") or [math.nan]
        srv = f"{_fmt(shipped.get('server_cpu'))} [{_fmt(min(runs))}-{_fmt(max(runs))}]"
        lines.append(
            prefix
            + f"{r['rps']['median']:>8.0f} [{r['rps']['min']:>6.0f}-{r['rps']['max']:>6.0f}]"
            + f" {r['p99_ms']['median']:>7.2f} {cpu:>16}"
            + f" {'/'.join(_fmt(shipped.get(k)) for k in ('rps', 'p99')):>18} {srv:>22}"
            + f" {'/'.join(_fmt(empty.get(k)) for k in ('rps', 'p99')):>16}  {','.join(r['flags'])}"
        )
    for r in doc["rows"]:
        extra = [
            f"{k} {v:.0f} us" for k, v in r.get("cpu_us_per_call", {}).items() if k in ("replica", "sink")
        ]
        if extra:
            lines.append(f"  {r['variant']} @{r['concurrency']}: CPU per call also {', '.join(extra)}")
        if "per_process_rps" in r:
            per = " + ".join(f"{x:.0f}" for x in r["per_process_rps"])
            busy = " + ".join(f"{x:.2f}" for x in r["per_process_cpu_busy"])
            lines.append(
                f"  {r['variant']} @{r['concurrency']}: per process {per} rps (by /metrics Debit counts),"
                f" CPU s per s {busy}"
            )
    for conc, s in doc["acks_split"].items():
        where = ""
        if "redis_py_over_script_pipe_us" in s:
            where = (
                f" = redis-py over ScriptPipe {s['redis_py_over_script_pipe_us']:.0f} us"
                " (the baseline rows' client CPU)"
                f" + WAIT and the rest {s['wait_and_rest_us']:.0f} us"
            )
        lines.append(
            f"  acks1 vs replica_acks0 @{conc}: {s['rps_ratio']:.2f}x rps, p99 {s['p99_ms']:+.2f} ms,"
            f" server CPU {s['server_us_per_call']:+.0f} us per call{where}"
        )
    lines.append(
        "x shipped = variant / shipped balance_svc in the same runs: rps, p99 and server CPU per call"
        " (medians' ratio [min-max of each run's ratio]); x empty = rps and p99 / the empty handler's"
    )
    return "\n".join(lines)


def _fmt(value: float | None, spec: str = ".2f") -> str:
    return "-" if value is None or (isinstance(value, float) and math.isnan(value)) else format(value, spec)
