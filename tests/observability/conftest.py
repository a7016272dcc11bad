"""The three services as real processes, each with its own /metrics port, and a real Prometheus."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from devtools.healthprobe import health_status
from devtools.redis_procs import free_port
from tests.conftest import ADMIN_TOKEN

ROOT = Path(__file__).resolve().parents[2]
OBSERVABILITY = ROOT / "deploy" / "observability"
MODULES = ("pricing_svc", "balance_svc", "payment_svc")
READY_S = 30.0


@dataclass(frozen=True)
class Services:
    grpc: dict[str, str]  # module -> host:port
    metrics: dict[str, int]  # module -> METRICS_PORT


def wait_until(ready, what: str, procs: list[subprocess.Popen]) -> None:
    deadline = time.monotonic() + READY_S
    while not ready():
        if dead := [p.args for p in procs if p.poll() is not None]:
            raise RuntimeError(f"exited while waiting for {what}: {dead}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} not ready after {READY_S:.0f} s")
        time.sleep(0.1)


@pytest.fixture(scope="module")
def services(redis_server) -> Iterator[Services]:
    grpc_ports = {m: free_port() for m in MODULES}
    metrics_ports = {m: free_port() for m in MODULES}
    common = {
        **os.environ,
        "REDIS_URL": redis_server.url,
        "GRPC_HOST": "127.0.0.1",
        "LOG_LEVEL": "WARNING",
        "PLAINTEXT_DEV_MODE": "true",  # mTLS is tests/security's subject
        "ADMIN_TOKEN": ADMIN_TOKEN,
        "WEBHOOK_PORT": str(free_port()),
        "AUTO_TOP_UP_CONSUMER": "false",
        **{f"{m.removesuffix('_svc').upper()}_PORT": str(p) for m, p in grpc_ports.items()},
        **{f"{m.removesuffix('_svc').upper()}_SERVICE_ADDR": f"127.0.0.1:{p}" for m, p in grpc_ports.items()},
    }
    procs = [
        subprocess.Popen([sys.executable, "-m", m], env={**common, "METRICS_PORT": str(metrics_ports[m])})
        for m in MODULES
    ]
    addrs = {m: f"127.0.0.1:{p}" for m, p in grpc_ports.items()}
    try:
        serving = lambda: all(health_status(a, timeout_s=1) == "SERVING" for a in addrs.values())  # noqa: E731
        wait_until(serving, "services", procs)
        yield Services(addrs, metrics_ports)
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(15)


@dataclass(frozen=True)
class Prometheus:
    url: str

    def get(self, path: str, **params: str) -> dict:
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        with urllib.request.urlopen(f"{self.url}{path}{query}", timeout=5) as response:
            body = json.load(response)
        assert body["status"] == "success", body
        return body["data"]


@pytest.fixture(scope="module")
def prometheus(services, tmp_path_factory) -> Iterator[Prometheus]:
    with running_prometheus(services.metrics, tmp_path_factory.mktemp("prometheus")) as server:
        yield server


@contextmanager
def running_prometheus(metrics_ports: dict[str, int], workdir: Path) -> Iterator[Prometheus]:
    """Debian's prometheus with the shipped scrape config and rules, its targets moved to these ports."""
    binary = shutil.which("prometheus")
    assert binary, "install Prometheus (apt-get install prometheus; .ci/run does)"
    config = yaml.safe_load((OBSERVABILITY / "prometheus.yml").read_text())
    config["global"] |= {"scrape_interval": "1s", "evaluation_interval": "1s"}
    config["rule_files"] = [str(OBSERVABILITY / f) for f in config["rule_files"]]
    for job in config["scrape_configs"]:
        job["static_configs"] = [{"targets": [f"127.0.0.1:{metrics_ports[job['job_name']]}"]}]
    (workdir / "prometheus.yml").write_text(yaml.safe_dump(config))
    port = free_port()
    with open(workdir / "prometheus.log", "w") as log:
        proc = subprocess.Popen(
            [
                binary,
                f"--config.file={workdir / 'prometheus.yml'}",
                f"--storage.tsdb.path={workdir / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    server = Prometheus(f"http://127.0.0.1:{port}")
    try:
        wait_until(lambda: _ready(server), "prometheus", [proc])
        yield server
    finally:
        proc.terminate()
        proc.wait(15)


def _ready(server: Prometheus) -> bool:
    try:
        with urllib.request.urlopen(f"{server.url}/-/ready", timeout=1) as response:
            return response.status == 200
    except OSError:
        return False
