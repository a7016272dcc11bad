"""Profiles the server of one case under load with py-spy: `python -m bench.profile debit_spread`."""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from bench.cases import BY_NAME
from bench.procs import Stack
from bench.runner import Bench, parse_args

_SERVERS = ("empty", "balance", "pricing", "payment")


def _function(frame: str) -> str:
    """`handle (svckit/interceptors.py:87)` -> `handle (svckit/interceptors.py)`: lines merged."""
    name, _, where = frame.partition(" (")
    return f"{name} ({where.rsplit(':', 1)[0]})" if where else name


def top(collapsed: Path, limit: int) -> str:
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for line in collapsed.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames, n = [_function(f) for f in stack.split(";")], int(count)
        total += n
        inclusive.update({f: n for f in set(frames)})
        own[frames[-1]] += n
    if not total:
        return "no samples"
    rows = [f"{total} samples; inclusive:"]
    rows += [f"  {100 * n / total:5.1f}%  {f}" for f, n in inclusive.most_common(limit)]
    rows += ["self:"] + [f"  {100 * n / total:5.1f}%  {f}" for f, n in own.most_common(limit // 2)]
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    """Prints where the server's samples go and keeps py-spy's collapsed stacks (speedscope reads them)."""
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__)
    parser.add_argument("case", choices=[c.name for c in BY_NAME.values() if c.target in _SERVERS])
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--native", action="store_true", help="include C frames (gRPC core, hiredis)")
    parser.add_argument("--server-loop", choices=["uvloop", "asyncio"], default="uvloop")
    parser.add_argument("--log-level", help="LOG_LEVEL for the services (default: theirs)")
    parser.add_argument("--top", type=int, default=40, help="functions to list")
    parser.add_argument("--out", type=Path, default=Path("bench/results"))
    args = parser.parse_args(argv)
    # pip puts py-spy beside the interpreter, which need not be on PATH.
    spy = shutil.which("py-spy") or shutil.which("py-spy", path=str(Path(sys.executable).parent))
    if spy is None:
        print("py-spy is not installed: pip install py-spy", file=sys.stderr)
        return 2
    run_args = ["--cases", args.case, "--scale", "1000", "--server-loop", args.server_loop]
    plan, _ = parse_args(run_args + (["--log-level", args.log_level] if args.log_level else []))
    args.out.mkdir(parents=True, exist_ok=True)
    collapsed = args.out / f"profile-{args.case}-{time.strftime('%Y%m%d-%H%M%S')}.txt"
    target = BY_NAME[args.case].target
    with (
        tempfile.TemporaryDirectory(prefix="bench-") as tmp,
        Stack(Path(tmp), server_uvloop=plan.server_uvloop, log_level=plan.log_level) as stack,
    ):
        bench = Bench(stack, plan, Path(tmp))
        try:
            bench.prepare()
            if args.case in bench.unavailable:
                print(f"{args.case} is unavailable: {bench.unavailable[args.case]}", file=sys.stderr)
                return 1
            duration = args.seconds + 2 * plan.warmup_s
            load = subprocess.Popen(
                bench.loadgen_argv(args.case, args.concurrency, bench.accounts, duration),
                stdout=subprocess.PIPE,
                text=True,
            )
            time.sleep(plan.warmup_s + 0.5)
            record = [spy, "record", "--format", "raw", "--rate", "250", "--duration", str(int(args.seconds))]
            record += ["--pid", str(stack.pid(target)), "--output", str(collapsed)]
            subprocess.run(record + (["--native"] if args.native else []), check=True, capture_output=True)
            print(load.communicate()[0].strip())
        finally:
            bench.close()
    print(top(collapsed, args.top))
    print(f"collapsed stacks: {collapsed}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
