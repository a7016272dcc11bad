"""Runs every case and baseline in one go against processes it starts, then prints and saves the results."""

from __future__ import annotations

import argparse
import functools
import importlib.util
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path

import grpc
import redis

from bench import baselines, chart, report, round_trips, seed, variants
from bench.cases import BY_NAME, CASES
from bench.procs import Stack, python_module

CLIENTS = ("lean", "grpc-aio")
GRPC_TARGETS = ("empty", "balance", "pricing", "payment")

_LOADGEN_SLACK_S = 60.0


@dataclass(frozen=True)
class Plan:
    cases: tuple[str, ...]
    concurrency: tuple[int, ...]
    runs: int
    warmup_s: float
    duration_s: float
    scale: tuple[int, ...]
    scale_concurrency: int
    memory_entries: int
    client_uvloop: bool
    server_uvloop: bool
    log_level: str | None
    variants: tuple[str, ...]
    client: str = "lean"
    client_processes: int = 1
    cross_check: tuple[str, ...] = ()
    cross_check_concurrency: tuple[int, ...] = (16,)

    @property
    def other_client(self) -> str:
        return next(c for c in CLIENTS if c != self.client)


def parse_args(argv: list[str] | None) -> tuple[Plan, Path]:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--smoke", action="store_true", help="a few seconds, to keep the harness working")
    parser.add_argument("--out", type=Path, default=Path("bench/results"), help="where JSON and PNG go")
    parser.add_argument("--cases", help=f"comma-separated subset of {','.join(BY_NAME)}")
    parser.add_argument("--concurrency", help="comma-separated calls in flight (default 1,16,64)")
    parser.add_argument("--runs", type=int, help="runs per case and concurrency (default 3)")
    parser.add_argument("--warmup", type=float, help="unmeasured seconds before each run (default 1)")
    parser.add_argument("--duration", type=float, help="measured seconds per run (default 3)")
    parser.add_argument("--scale", help="accounts preloaded for the scale runs (default 1000,100000,1000000)")
    parser.add_argument(
        "--client",
        choices=CLIENTS,
        default="lean",
        help="gRPC load generator: lean (the default: bench.lean, prebuilt HTTP/2 frames) or grpc-aio"
        " (bench.loadgen)",
    )
    parser.add_argument(
        "--client-processes", type=int, default=1, help="lean generator's processes, one connection each"
    )
    parser.add_argument(
        "--cross-check",
        default="empty,debit_spread",
        help="cases also run with the other client, as a cross-check ('' for none; default %(default)s)",
    )
    parser.add_argument(
        "--cross-check-concurrency", default="16", help="their calls in flight (default %(default)s)"
    )
    parser.add_argument(
        "--client-loop", choices=["uvloop", "asyncio"], default="uvloop", help="grpc-aio generator's loop"
    )
    parser.add_argument(
        "--server-loop",
        choices=["uvloop", "asyncio"],
        default="uvloop",
        help="services' loop (uvloop as shipped, or asyncio: UVLOOP=false); the empty server uses it too",
    )
    parser.add_argument("--log-level", help="LOG_LEVEL for the services (default: theirs)")
    parser.add_argument(
        "--variants",
        help=f"balance_svc variants beside the shipped one: none or some of {','.join(variants.BY_NAME)}",
    )
    args = parser.parse_args(argv)
    smoke = args.smoke

    def ints(text: str | None, default: str) -> tuple[int, ...]:
        return tuple(int(x) for x in (text or default).split(","))

    chosen = tuple((args.cases or ",".join(BY_NAME)).split(","))
    checked = tuple(c for c in args.cross_check.split(",") if c)
    unknown = (set(chosen) | set(checked)) - set(BY_NAME)
    if unknown:
        parser.error(f"unknown cases: {', '.join(sorted(unknown))}")
    plan = Plan(
        cases=chosen,
        concurrency=ints(args.concurrency, "16" if smoke else "1,16,64"),
        runs=args.runs or (1 if smoke else 3),
        warmup_s=args.warmup if args.warmup is not None else (0.2 if smoke else 1.0),
        duration_s=args.duration or (0.6 if smoke else 3.0),
        scale=ints(args.scale, "100,1000" if smoke else "1000,100000,1000000"),
        scale_concurrency=16,
        memory_entries=50 if smoke else 1000,
        client_uvloop=args.client_loop == "uvloop" and _has("uvloop"),
        server_uvloop=args.server_loop == "uvloop",
        log_level=args.log_level,
        client=args.client,
        client_processes=args.client_processes,
        # Only gRPC cases have two clients, and only the chosen cases run.
        cross_check=tuple(c for c in checked if c in chosen and BY_NAME[c].target in GRPC_TARGETS),
        cross_check_concurrency=ints(args.cross_check_concurrency, "16"),
        variants=tuple(
            v
            for v in (args.variants or ",".join(variants.SMOKE if smoke else variants.BY_NAME)).split(",")
            if v != "none"
        ),
    )
    if unknown := set(plan.variants) - set(variants.BY_NAME):
        parser.error(f"unknown variants: {', '.join(sorted(unknown))}")
    return plan, args.out


def _has(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


class Bench:
    """One benchmark run over a started Stack."""

    def __init__(self, stack: Stack, plan: Plan, workdir: Path) -> None:
        self.stack, self.plan, self.workdir = stack, plan, workdir
        assert stack.redis is not None and stack.pki is not None
        self.pki = stack.pki
        self.redis_url, self.redis_pid = stack.redis.url, stack.redis.pid
        self.redis = redis.Redis.from_url(self.redis_url)
        self.unavailable: dict[str, str] = {}
        self.round_trips: dict = {}
        self.memory: dict = {}
        self.debit: dict | None = None
        self.spec_path = workdir / "redis_py_spec.json"
        self.cloner: seed.Cloner | None = None
        self.failed: dict[tuple[str, str], str] = {}  # (case, client) whose run failed: not run again
        self.samples: dict[tuple[str, str, int], list[dict]] = defaultdict(list)
        self.scale: list[dict] = []

    # -- setup -------------------------------------------------------------------------------

    def prepare(self) -> None:
        for name, reason in self.stack.failed.items():
            _say(f"{name} did not start: {reason}")
            for case in CASES:
                if case.target == name or (name == "balance" and case.target in ("redis", "redis-benchmark")):
                    self.unavailable[case.name] = f"{name} did not start: {reason.splitlines()[0]}"
        pricing, balance, pki = self.stack.addrs["pricing"], self.stack.addrs["balance"], self.pki
        self._step("pricing", lambda: seed.seed_pricing(pricing, pki), ("quote", "quote_code"), "pricing")
        if "quote" in self.unavailable:
            self.unavailable.setdefault("checkout", f"needs pricing: {self.unavailable['quote']}")
        balance_cases = [c.name for c in CASES if c.target in ("balance", "redis", "redis-benchmark")]
        if self._step("balance", lambda: seed.seed_balance(balance, pki), balance_cases):
            self._step("preload", self._preload, ["debit_spread", "redis_py", "script_pipe"])
            self._step("memory", self._measure_memory, [])
            self._step("round trips", self._capture, ["redis_py", "script_pipe", "redis_benchmark"])
        if baselines.redis_benchmark_binary() is None:
            self.unavailable.setdefault("redis_benchmark", "redis-benchmark is not installed (redis-tools)")

    def _step(self, what: str, action, cases: list[str] | tuple[str, ...], service: str = "balance") -> bool:
        if all(c in self.unavailable for c in cases) and cases:
            return False
        _say(f"setup: {what}")
        try:
            action()
            return True
        except (seed.Unavailable, grpc.RpcError, LookupError, redis.RedisError) as exc:
            reason = str(exc) if not isinstance(exc, grpc.RpcError) else f"{exc.code().name}: {exc.details()}"
            _say(f"setup: {what} unavailable: {reason}")
            self._show_log(service)
            for case in cases:
                self.unavailable.setdefault(case, f"{what}: {reason}")
            return False

    def _preload(self) -> None:
        self.cloner = seed.Cloner(self.redis_url)
        self.cloner.grow_to(self.plan.scale[0])

    def _measure_memory(self) -> None:
        addr, entries = self.stack.addrs["balance"], self.plan.memory_entries
        self.memory = seed.measure_memory(addr, self.redis_url, entries, self.pki)

    def _capture(self) -> None:
        addr, pid = self.stack.addrs["balance"], self.stack.pid("balance")
        self.round_trips, self.debit = round_trips.capture(addr, pid, self.redis_url, self.pki)
        if self.debit is None:
            raise LookupError(f"Debit sent no EVALSHA: {self.round_trips.get('Debit')}")
        self.spec_path.write_text(json.dumps(baselines.redis_py_spec(self.debit)))

    @property
    def accounts(self) -> int:
        return self.cloner.count if self.cloner else 1

    # -- measuring ---------------------------------------------------------------------------

    def commandstats(self) -> dict:
        return self.redis.info("commandstats")

    def sample(self, case: str, concurrency: int, accounts: int, client: str | None = None) -> dict:
        if case == "redis_benchmark":
            return self._redis_benchmark(concurrency)
        before = self.commandstats()
        result = self._loadgen(case, concurrency, accounts, client or self.plan.client)
        if "count" in result:
            result["redis_commands"] = report.commands_per_call(
                before, self.commandstats(), result["total_calls"]
            )
        return result

    def loadgen_argv(
        self,
        case: str,
        concurrency: int,
        accounts: int,
        duration_s: float,
        client: str | None = None,
        *,
        process: str | None = None,
        watching: Mapping[str, int] | None = None,
        warmup_s: float | None = None,
    ) -> list[str]:
        """The load generator's command: bench.loadgen for Redis cases and the grpc-aio client, else
        bench.lean; gRPC clients present the certificate of the identity the case needs. bench.variants
        sends a gRPC case to another `process` of the stack, with the CPU of `watching` (instead of the
        case's server and Redis) and its own warm-up."""
        target = process or BY_NAME[case].target
        watch = {"redis": self.redis_pid}
        module, uvloop = "bench.loadgen", self.plan.client_uvloop
        if target == "redis":
            where = ["--redis-url", self.redis_url, "--redis-spec", str(self.spec_path)]
        else:
            where = ["--target", self.stack.addrs[target], *self.pki.tls_args(BY_NAME[case].identity)]
            watch["server"] = self.stack.pid(target)
            if case == "checkout":  # its dependencies' CPU counts towards the machine's load
                watch |= {"pricing": self.stack.pid("pricing"), "stripe": self.stack.pid("stripe")}
            if (client or self.plan.client) == "lean":
                module, uvloop = "bench.lean", False
                where += ["--processes", str(self.plan.client_processes)]
        watched = watch if watching is None else watching
        warmup_s = self.plan.warmup_s if warmup_s is None else warmup_s
        return python_module(
            module,
            *("--case", case, "--concurrency", str(concurrency), "--accounts", str(accounts)),
            *("--warmup", str(warmup_s), "--duration", str(duration_s)),
            *where,
            *(a for name, pid in watched.items() for a in ("--watch", f"{name}={pid}")),
            uvloop=uvloop,
        )

    def _loadgen(self, case: str, concurrency: int, accounts: int, client: str) -> dict:
        argv = self.loadgen_argv(case, concurrency, accounts, self.plan.duration_s, client)
        timeout = self.plan.warmup_s + self.plan.duration_s + _LOADGEN_SLACK_S
        try:
            out = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return {"error": f"load generator did not finish in {timeout:.0f}s"}
        if out.returncode != 0 or not out.stdout.strip():
            tail = " | ".join(out.stderr.strip().splitlines()[-3:])
            return {"error": f"load generator exited {out.returncode}: {tail}"}
        return json.loads(out.stdout.strip().splitlines()[-1])

    def _redis_benchmark(self, concurrency: int) -> dict:
        binary, port = baselines.redis_benchmark_binary(), self.stack.redis.port
        assert binary and self.debit and self.redis_pid
        # The warm-up run also calibrates how many requests fill the measured duration.
        warm = max(1000, int(20_000 * self.plan.warmup_s))
        run = functools.partial(baselines.run_redis_benchmark, binary, port, concurrency)
        rps = run(warm, self.debit, self.redis_pid)["rps"]
        requests = max(1000, int(rps * self.plan.duration_s))
        before = self.commandstats()
        result = run(requests, self.debit, self.redis_pid)
        result["redis_commands"] = report.commands_per_call(before, self.commandstats(), requests)
        return result | {"case": "redis_benchmark", "concurrency": concurrency}

    def matrix(self) -> list[tuple[str, str, int]]:
        """(case, client, concurrency) of one run: every case with the chosen client, then the
        cross-checks with the other one."""
        plan = self.plan
        rows = [(case, plan.client, conc) for case in plan.cases for conc in plan.concurrency]
        other, checked = plan.other_client, plan.cross_check_concurrency
        return rows + [(case, other, conc) for case in plan.cross_check for conc in checked]

    def run_matrix(self) -> None:
        # Runs interleave (run 1 of every case, then run 2 ...) so drift in machine load hits all alike.
        for run in range(1, self.plan.runs + 1):
            for case, client, concurrency in self.matrix():
                if case in self.unavailable or (case, client) in self.failed:
                    continue
                result = self.sample(case, concurrency, self.accounts, client)
                label = case if client == self.plan.client else f"{case} [{client}]"
                self._note(f"run {run}/{self.plan.runs} {label} @{concurrency}", case, client, result)
                self.samples[(case, client, concurrency)].append(result)

    def run_scale(self) -> None:
        if "debit_spread" not in self.plan.cases or self.cloner is None or "debit_spread" in self.unavailable:
            return
        for accounts in self.plan.scale:
            before = self.cloner.used_memory()
            added = accounts - self.cloner.count
            _say(f"scale: preloading {accounts:,} accounts")
            started = time.perf_counter()
            self.cloner.grow_to(accounts)
            took = time.perf_counter() - started
            grown = self.cloner.used_memory()
            runs = []
            for run in range(1, self.plan.runs + 1):
                result = self.sample("debit_spread", self.plan.scale_concurrency, accounts)
                self._note(f"scale {accounts:,} run {run}", "debit_spread", self.plan.client, result)
                runs.append(result)
            self.scale.append(
                report.summarize(runs)
                | {
                    "accounts": accounts,
                    "concurrency": self.plan.scale_concurrency,
                    "preload_s": took,
                    "used_memory_bytes": grown,
                    "used_memory_per_added_account": (grown - before) / added if added > 0 else None,
                }
            )

    def _note(self, label: str, case: str, client: str, result: dict) -> None:
        if "unavailable" in result or "error" in result:
            reason = result.get("unavailable") or result["error"]
            self.failed[(case, client)] = reason
            _say(f"{label}: {'unavailable' if 'unavailable' in result else 'error'}: {reason}")
            if "error" in result:
                self._show_log(BY_NAME[case].target)
            return
        errors = f" errors={result['errors']}" if result["errors"] else ""
        p99 = result["latency_ms"]["p99"]
        _say(f"{label}: {result['rps']:.0f} rps p99 {p99:.2f} ms{errors}")

    def _show_log(self, service: str) -> None:
        """The end of a service's log, where its traceback is, since the run's work dir is deleted."""
        if (child := self.stack.children.get(service)) is not None:
            _say(f"--- last lines of {service}'s log:\n{child.tail(8)}\n---")

    # -- results -----------------------------------------------------------------------------

    def results(self) -> list[dict]:
        rows, said = [], set()
        for case, client, concurrency in self.matrix():
            samples = self.samples.get((case, client, concurrency))
            if samples:
                summary = report.summarize(samples)
            elif (reason := self.unavailable.get(case) or self.failed.get((case, client))) is not None:
                if (case, client) in said:
                    continue  # one line per unavailable case is enough
                said.add((case, client))
                summary = {"status": "unavailable", "reason": reason}
            else:
                continue
            row = {"case": case, "client": client, "concurrency": concurrency, **summary}
            rows.append(row | {"cross_check": client != self.plan.client, "samples": samples or []})
        report.add_ratios(rows)
        return rows

    def close(self) -> None:
        self.redis.close()
        if self.cloner:
            self.cloner.close()


def _meta(plan: Plan, stack_redis_version: str) -> dict:
    def version(dist: str) -> str | None:
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            return None

    def git(*args: str) -> str:
        out = subprocess.run(["git", *args], capture_output=True, text=True)
        return out.stdout.strip()

    cpu_model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    return {
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "commit": git("rev-parse", "--short", "HEAD"),
        "dirty": bool(git("status", "--porcelain", "--untracked-files=no")),
        "cpus": os.cpu_count(),
        "cpu_model": cpu_model,
        "load_average_at_start": os.getloadavg(),  # other work on the machine skews every number
        "python": platform.python_version(),
        "packages": {d: version(d) for d in ("grpcio", "protobuf", "redis", "hiredis", "uvloop", "hpack")},
        "redis_server": stack_redis_version,
        "redis_appendonly": False,
        "plan": asdict(plan),
    }


def main(argv: list[str] | None = None) -> int:
    plan, out_dir = parse_args(argv)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    load = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        _say(f"starting Redis, fake Stripe, the empty server and the services (load average {load[0]:.2f})")
        with Stack(Path(tmp), server_uvloop=plan.server_uvloop, log_level=plan.log_level) as stack:
            bench = Bench(stack, plan, Path(tmp))
            try:
                redis_version = bench.redis.info("server")["redis_version"]
                meta = _meta(plan, redis_version)
                bench.prepare()
                bench.run_matrix()
                bench.run_scale()
                variant_doc = variants.run(bench, plan.variants)
                meta["load_average_at_end"] = os.getloadavg()
            finally:
                bench.close()
    rows = bench.results()
    primary = [r for r in rows if not r["cross_check"]]  # the targets and the chart: the chosen client
    checks = report.targets(primary, bench.round_trips, bench.scale)
    doc = {
        "meta": meta,
        "results": rows,
        "scale": bench.scale,
        "round_trips": bench.round_trips,
        "memory": bench.memory,
        "targets": checks,
        "variants": variant_doc,
    }
    print(report.table(rows))
    print(report.extras_text(bench.round_trips, bench.memory, bench.scale))
    print("targets:\n" + report.targets_text(checks))
    print(variants.text(variant_doc))
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path = out_dir / f"{stamp}.json"
    json_path.write_text(json.dumps(doc, indent=2, default=str))
    png = chart.draw(primary, bench.scale, out_dir / f"{stamp}.png")
    print(f"wrote {json_path}" + (f" and {png}" if png else " (no chart: matplotlib is not installed)"))
    failed = [f"{r['case']}@{r['concurrency']}" for r in rows if r["status"] in ("error", "errors")]
    failed += [f"scale {s['accounts']}" for s in bench.scale if s["status"] in ("error", "errors")]
    if failed:
        print(f"FAILED: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0
