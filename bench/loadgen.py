"""Load generator process: N calls in flight for a set time, then one JSON line: counts, latencies, CPU."""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import random
import sys
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable

import grpc
from redis.exceptions import RedisError

from bench import calls, cases
from bench.pki import credentials
from bench.samples import cpu_snapshot, summary

Call = Callable[[int], Awaitable[object]]


def grpc_caller(case: str, channel: grpc.aio.Channel, accounts: int, prefix: str) -> Call:
    """One call of `case` per invocation; `seq` makes every mutation's request id unique."""
    shape = calls.shape(case)
    method = channel.unary_unary(
        shape.path,
        request_serializer=lambda m: m.SerializeToString(),
        response_deserializer=shape.response.FromString,
    )
    rng = random.Random()
    fixed_id = calls.request_id(prefix, 0)

    def call(seq: int) -> Awaitable[object]:
        account = cases.account_id(rng.randrange(accounts)) if shape.spread else shape.account or ""
        rid = calls.request_id(prefix, seq) if shape.unique_request_id else fixed_id
        return method(shape.make(account, rid))

    return call


def redis_caller(case: str, redis_url: str, spec: dict, accounts: int, prefix: str) -> Call:
    """The captured Debit EVALSHA (loaded by balance_svc), sent through redis-py (redis_py) or through the
    ScriptPipe the service's scripts use (script_pipe)."""
    from svckit.config import CommonSettings
    from svckit.redis_client import connect, script_pipe

    client = connect(CommonSettings(redis_url=redis_url))
    pipe = script_pipe(client) if case == "script_pipe" else None
    send = client.evalsha if pipe is None else functools.partial(pipe.execute, b"EVALSHA")
    sha, numkeys = spec["sha"], len(spec["keys"])
    words = [w.encode("latin-1") for w in (*spec["keys"], *spec["args"])]
    template, request_id = spec["account"].encode(), spec["request_id"].encode()
    rng = random.Random()

    def call(seq: int) -> Awaitable[object]:
        account, rid = cases.account_id(rng.randrange(accounts)).encode(), f"{prefix}{seq}".encode()
        filled = (w.replace(template, account).replace(request_id, rid) for w in words)
        return send(sha, numkeys, *filled)

    return call


async def measure(call: Call, concurrency: int, warmup_s: float, duration_s: float, watch: dict) -> dict:
    latencies: list[float] = []
    errors: Counter[str] = Counter()
    first_error: list[str] = []
    issued = 0
    loop_start = time.perf_counter()
    t_start, t_stop = loop_start + warmup_s, loop_start + warmup_s + duration_s
    cpu_at_start: dict[str, float] = {}

    async def worker() -> None:
        nonlocal issued
        while (t0 := time.perf_counter()) < t_stop:
            issued += 1
            try:
                await call(issued)
            except grpc.aio.AioRpcError as exc:
                errors[exc.code().name] += 1
                if not first_error:
                    first_error.append(f"{exc.code().name}: {exc.details()}")
                continue
            except RedisError as exc:
                errors[type(exc).__name__] += 1
                if not first_error:
                    first_error.append(repr(exc))
                continue
            if t0 >= t_start:
                latencies.append(time.perf_counter() - t0)

    async def snapshot_at_start() -> None:
        await asyncio.sleep(max(0.0, t_start - time.perf_counter()))
        cpu_at_start.update(cpu_snapshot(watch))

    await asyncio.gather(snapshot_at_start(), *(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - t_start
    cpu_at_end = cpu_snapshot(watch)
    cpu = {name: cpu_at_end[name] - cpu_at_start[name] for name in cpu_at_end}
    first = first_error[0] if first_error else None
    result = summary(latencies, elapsed, issued + 1, dict(errors), first, cpu)  # + the probe call
    return result | {"client_saturation": cpu["client"] / elapsed}


async def run(args: argparse.Namespace, spec: dict | None) -> dict:
    prefix = f"lg-{uuid.uuid4().hex[:10]}-"
    channel = None
    if spec is not None:
        call = redis_caller(args.case, args.redis_url, spec, args.accounts, prefix)
    else:
        channel = grpc.aio.secure_channel(args.target, credentials(args.tls_ca, args.tls_cert, args.tls_key))
        call = grpc_caller(args.case, channel, args.accounts, prefix)
    result = {"case": args.case, "concurrency": args.concurrency, "client": "grpc-aio"}
    try:
        try:
            await call(0)  # a probe: an unimplemented or broken case reports instead of spinning
        except grpc.aio.AioRpcError as exc:
            key = "unavailable" if exc.code() == grpc.StatusCode.UNIMPLEMENTED else "error"
            return result | {key: f"{exc.code().name}: {exc.details()}"}
        except RedisError as exc:
            return result | {"error": repr(exc)}
        watch = dict(w.split("=", 1) for w in args.watch)
        pids = {name: int(pid) for name, pid in watch.items()}
        return result | await measure(call, args.concurrency, args.warmup, args.duration, pids)
    finally:
        if channel is not None:
            await channel.close()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.loadgen", description=__doc__)
    parser.add_argument("--case", required=True, choices=[c.name for c in cases.CASES])
    parser.add_argument("--target", help="host:port of the gRPC server")
    parser.add_argument("--tls-ca", help="for gRPC cases: CA that signed the server's certificate")
    parser.add_argument("--tls-cert", help="for gRPC cases: client certificate (the caller's identity)")
    parser.add_argument("--tls-key", help="for gRPC cases: its private key")
    parser.add_argument("--redis-url", help="for redis_py and script_pipe: the Redis to call")
    parser.add_argument("--redis-spec", help="for redis_py and script_pipe: JSON of the captured EVALSHA")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--warmup", type=float, default=1.0, help="seconds of load not measured")
    parser.add_argument("--duration", type=float, default=3.0, help="seconds measured")
    parser.add_argument("--accounts", type=int, default=1000, help="spread cases pick among this many")
    parser.add_argument("--watch", action="append", default=[], help="NAME=PID whose CPU to report")
    args = parser.parse_args()
    spec = None
    if args.case in ("redis_py", "script_pipe"):
        with open(args.redis_spec) as f:
            spec = json.load(f)
    result = asyncio.run(run(args, spec))
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
