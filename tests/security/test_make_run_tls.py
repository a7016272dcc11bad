"""`make run` makes a dev CA, per-service certificates and an admin token once, and serves mTLS."""

from __future__ import annotations

import os
import re
import signal
import stat
import subprocess
import sys
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from pricing.v1 import pricing_service_pb2 as pri
from pricing.v1 import pricing_service_pb2_grpc

from devtools.redis_procs import free_port
from tests.security.conftest import credentials

PORTS = ("PRICING_PORT", "BALANCE_PORT", "PAYMENT_PORT", "WEBHOOK_PORT")


def _run_stack(state_dir, ports: dict[str, int], redis_port: int) -> subprocess.Popen[str]:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("TLS_", "PLAINTEXT_", "ADMIN_TOKEN"))},
        **{var: str(port) for var, port in ports.items()},
        "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
        "GRPC_HOST": "127.0.0.1",
        "LOG_LEVEL": "WARNING",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "devtools.run_stack", "--state-dir", str(state_dir)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )


def _until_ready(proc: subprocess.Popen[str]) -> str:
    """Everything printed up to the ready block's last line, the one that starts with "  try"."""
    lines = []
    for line in proc.stdout:
        lines.append(line)
        if line.startswith("  try "):
            break
    return "".join(lines)


def _ready_block_as_make_run_prints_it(printed: str, ports: dict[str, int], redis_port: int) -> str:
    """The ready block with the test's free ports swapped for `make run`'s defaults."""
    block = printed[printed.index("ready: ") :]
    defaults = {redis_port: 6379} | {
        ports[v]: p for v, p in zip(PORTS, (50051, 50052, 50053, 8080), strict=True)
    }
    return re.sub(r":(\d+)\b", lambda m: f":{defaults.get(int(m.group(1)), m.group(1))}", block)


def test_make_run_serves_mtls_with_a_dev_ca_it_makes_once_and_prints_the_admin_token(tmp_path):
    ports, redis_port = {var: free_port() for var in PORTS}, free_port()
    proc = _run_stack(tmp_path / "state", ports, redis_port)
    try:
        printed = _until_ready(proc)
        assert "ready: " in printed, printed
        readme = (Path(__file__).parents[2] / "README.md").read_text()
        assert _ready_block_as_make_run_prints_it(printed, ports, redis_port) in readme, (
            "README's ready lines"
        )
        token = re.search(r"dev admin token: (\S+)", printed).group(1)
        pki = tmp_path / "state" / "pki"
        for name in ("pricing", "balance", "payment", "admin-cli"):
            assert stat.S_IMODE((pki / f"{name}-key.pem").stat().st_mode) == 0o600
        pricing = f"localhost:{ports['PRICING_PORT']}"

        with grpc.insecure_channel(pricing) as plain:
            try:
                health_pb2_grpc.HealthStub(plain).Check(health_pb2.HealthCheckRequest(), timeout=5)
                plaintext_code = grpc.StatusCode.OK
            except grpc.RpcError as err:
                plaintext_code = err.code()
        assert plaintext_code == grpc.StatusCode.UNAVAILABLE

        with grpc.secure_channel(pricing, credentials(pki, "admin-cli")) as channel:
            health = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5)
            assert health.status == health_pb2.HealthCheckResponse.SERVING
            config = pricing_service_pb2_grpc.PricingServiceStub(channel).GetPricingConfig(
                pri.GetPricingConfigRequest(), metadata=(("authorization", f"Bearer {token}"),), timeout=5
            )
            assert config.config.version == 0
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
    assert proc.returncode == 0

    # A second start keeps the CA, the certificates and the token.
    ca = (pki / "ca.pem").read_bytes()
    again = _run_stack(tmp_path / "state", {var: free_port() for var in PORTS}, free_port())
    try:
        assert f"dev admin token: {token}" in _until_ready(again)
    finally:
        again.send_signal(signal.SIGTERM)
        again.wait(30)
    assert (pki / "ca.pem").read_bytes() == ca
