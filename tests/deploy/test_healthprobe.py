"""`python -m devtools.healthprobe`, the image HEALTHCHECK, against real servers: 0 only when SERVING."""

from __future__ import annotations

import asyncio
import os
import sys

from balance_svc.config import Settings as BalanceSettings
from balance_svc.server import create_server as create_balance
from devtools.redis_procs import free_port
from pricing_svc.server import create_server as create_pricing
from pricing_svc.settings import Settings as PricingSettings
from tests.conftest import base_settings


async def _probe(*args: str, **env: str) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "devtools.healthprobe",
        *args,
        env={k: v for k, v in os.environ.items() if k != "HEALTH_ADDR"} | env,
        stdout=asyncio.subprocess.PIPE,
    )
    stdout, _ = await asyncio.wait_for(proc.communicate(), timeout=30)
    return proc.returncode, stdout.decode().strip()


async def test_probe_passes_when_the_server_is_serving(single_redis, start_server):
    addr = await start_server(create_pricing, PricingSettings(**base_settings(**single_redis)))
    assert await _probe(addr) == (0, f"{addr} SERVING")


async def test_probe_fails_when_the_server_cannot_reach_redis(start_server):
    dead_redis = f"redis://127.0.0.1:{free_port()}/0"
    addr = await start_server(create_pricing, PricingSettings(**base_settings(redis_url=dead_redis)))
    assert await _probe(addr) == (1, f"{addr} NOT_SERVING")


async def test_probe_fails_when_nothing_listens():
    addr = f"127.0.0.1:{free_port()}"
    assert await _probe(addr) == (1, f"{addr} UNAVAILABLE")


async def test_probe_fails_for_a_service_the_server_does_not_host(single_redis, start_server):
    addr = await start_server(create_pricing, PricingSettings(**base_settings(**single_redis)))
    code, output = await _probe(addr, "--service", "balance.v1.BalanceService")
    assert (code, output) == (1, f"{addr} NOT_FOUND")


async def test_probe_without_an_address_finds_the_one_service_port_that_listens(single_redis, start_server):
    addr = await start_server(create_balance, BalanceSettings(**base_settings(**single_redis)))
    port = addr.rsplit(":", 1)[1]
    ports = {"PRICING_PORT": str(free_port()), "BALANCE_PORT": port, "PAYMENT_PORT": str(free_port())}
    code, output = await _probe(**ports)
    assert code == 0
    assert f"localhost:{port} SERVING" in output


async def test_probe_without_an_address_fails_when_no_service_port_listens():
    ports = {name: str(free_port()) for name in ("PRICING_PORT", "BALANCE_PORT", "PAYMENT_PORT")}
    code, _ = await _probe(**ports)
    assert code == 1


async def test_probe_reads_its_address_from_health_addr(single_redis, start_server):
    addr = await start_server(create_pricing, PricingSettings(**base_settings(**single_redis)))
    assert await _probe(HEALTH_ADDR=addr) == (0, f"{addr} SERVING")
