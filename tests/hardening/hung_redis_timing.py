"""Prints each service's time to an answer while its Redis is hung (SIGSTOP), at 2 s and 10 s deadlines.

`.venv/bin/python -m tests.hardening.hung_redis_timing` (not a test: it measures and asserts nothing).
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path

import grpc
from pricing.v1 import pricing_service_pb2 as pri

from devtools.redis_procs import RedisProcess
from tests.hardening.support import REDIS_CALLS, SERVICES, Call, invoke, reason, settings_for, stopped

_EXTRA = {  # what issue 14 found hanging, beside the calls every test uses
    "pricing": (Call("/pricing.v1.PricingService/GetPricingConfig", pri.GetPricingConfigRequest(), True),),
}


async def _timed(channel, call, deadline_s):
    started = time.perf_counter()
    result = await invoke(channel, call, deadline_s=deadline_s)
    elapsed = time.perf_counter() - started
    code = result.code().name if isinstance(result, grpc.aio.AioRpcError) else "OK"
    return call.method.rsplit("/", 1)[1], deadline_s, code, reason(result) or "", elapsed


async def main() -> None:
    rows = []
    for service, (create, *_rest) in SERVICES.items():
        with tempfile.TemporaryDirectory() as tmp, RedisProcess(Path(tmp), appendonly=False) as redis:
            app, port = await create(
                settings_for(service, {"redis_url": redis.url, "redis_cluster_nodes": ""})
            )
            await app.start()
            calls = (*REDIS_CALLS[service], *_EXTRA.get(service, ()))
            async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
                for call in calls:
                    await invoke(channel, call)
                for deadline_s in (2.0, 10.0):
                    with stopped(redis.pid):
                        for call in calls:  # one at a time, each against a fresh stall
                            rows.append((service, *await _timed(channel, call, deadline_s)))
                    await asyncio.sleep(2.5)  # let reconnects settle before the next stall
            await app.stop(0)
    print(f"{'service':8} {'method':22} {'deadline':>8} {'code':18} {'reason':22} {'seconds':>7}")
    for service, method, deadline_s, code, why, elapsed in rows:
        print(f"{service:8} {method:22} {deadline_s:>8.0f} {code:18} {why:22} {elapsed:>7.2f}")


if __name__ == "__main__":
    asyncio.run(main())
