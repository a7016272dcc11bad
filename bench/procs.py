"""The processes a benchmark run owns: Redis, fake Stripe, the empty baseline and the three services."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from bench.pki import TOOLS, Pki
from devtools.redis_procs import RedisProcess, free_port

HOST = "127.0.0.1"
SERVICES = ("balance", "pricing", "payment")


class Child:
    """A child process whose stdout and stderr go to a log file in the run's work dir."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log_dir: Path) -> None:
        self.name, self.argv, self.env = name, argv, env
        self.log_path = log_dir / f"{name}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self) -> None:
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                self.argv, env=self.env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout: float = 10.0) -> None:
        if self.alive():
            assert self.proc is not None
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def tail(self, lines: int = 15) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


def python_module(module: str, *args: str, uvloop: bool = False) -> list[str]:
    """argv running `python -m module`, optionally with uvloop as the event loop policy."""
    if not uvloop:
        return [sys.executable, "-m", module, *args]
    code = f"import runpy, sys, uvloop; uvloop.install(); sys.argv[1:] = {list(args)!r}; "
    code += f"runpy.run_module({module!r}, run_name='__main__', alter_sys=True)"
    return [sys.executable, "-c", code]


def wait_grpc_serving(child: Child, addr: str, pki: Pki, timeout: float = 20.0) -> None:
    """Polls the standard health service (over mTLS) until SERVING; raises with the log tail otherwise."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    with pki.channel(addr, TOOLS) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while time.monotonic() < deadline and child.alive():
            try:
                status = stub.Check(health_pb2.HealthCheckRequest(), timeout=1).status
                if status == health_pb2.HealthCheckResponse.SERVING:
                    return
                last = health_pb2.HealthCheckResponse.ServingStatus.Name(status)
            except grpc.RpcError as exc:
                last = exc.code().name
            time.sleep(0.1)
    raise RuntimeError(f"{child.name} not serving on {addr} ({last}); log tail:\n{child.tail()}")


def wait_tcp(child: Child, port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and child.alive():
        try:
            socket.create_connection((HOST, port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{child.name} not listening on {port}; log tail:\n{child.tail()}")


@dataclass
class Stack:
    """Everything one run measures; a service that fails to start is recorded, not fatal."""

    workdir: Path
    server_uvloop: bool = True
    log_level: str | None = None
    redis: RedisProcess | None = None
    children: dict[str, Child] = field(default_factory=dict)
    addrs: dict[str, str] = field(default_factory=dict)
    metrics_addrs: dict[str, str] = field(default_factory=dict)  # each service process's /metrics
    failed: dict[str, str] = field(default_factory=dict)
    pki: Pki | None = None
    env: dict[str, str] = field(default_factory=dict)  # what every service process starts with
    extra_redis: list[RedisProcess] = field(default_factory=list)  # started for variants; stopped last

    def start(self) -> None:
        pki = self.pki = Pki.create(self.workdir / "pki")
        # appendonly off: the baseline is Redis's in-memory ceiling, without fsync cost.
        self.redis = RedisProcess(self.workdir / "redis", appendonly=False)
        self.redis.start()
        ports = {name: free_port() for name in (*SERVICES, "empty", "stripe", "webhook")}
        self.addrs = {name: f"{HOST}:{ports[name]}" for name in (*SERVICES, "empty")}
        self.env = self._service_env(ports)
        stripe = self._spawn("stripe", python_module("devtools.fake_stripe", "--port", str(ports["stripe"])))
        argv = python_module("bench.empty_server", "--port", str(ports["empty"]), uvloop=self.server_uvloop)
        empty = self._spawn("empty", argv)
        empty.env |= pki.service_env()  # the services' transport: mTLS
        self._start_and_wait(stripe, lambda: wait_tcp(stripe, ports["stripe"]))
        self._start_and_wait(empty, lambda: wait_grpc_serving(empty, self.addrs["empty"], pki))
        for name in SERVICES:  # one by one: payment_svc's start may need the other two
            self.start_services([(name, name, {}, self.addrs[name])])

    def start_services(self, specs: list[tuple[str, str, dict[str, str], str]]) -> None:
        """Starts service processes side by side, then waits for each: (name, service, env overrides, addr).

        Each gets its own free METRICS_PORT (unless the overrides set one), so no run collides with
        another's default port and each process's counters can be read apart.
        """
        for name, service, overrides, addr in specs:
            metrics = {"METRICS_PORT": str(free_port())} | overrides
            env = self.env | {f"{service.upper()}_PORT": addr.rsplit(":", 1)[1]} | metrics
            self.children[name] = Child(name, python_module(f"{service}_svc"), env, self.workdir)
            self.addrs[name] = addr
            if metrics["METRICS_PORT"] != "0":
                self.metrics_addrs[name] = f"{HOST}:{metrics['METRICS_PORT']}"
        started = [self.children[name] for name, *_ in specs]
        for child in started:
            child.start()
        for child in started:
            self.settle(child, lambda c=child: wait_grpc_serving(c, self.addrs[c.name], self.pki))

    def spawn(self, name: str, argv: list[str]) -> Child:
        """A helper process (not a service) owned by the stack; started by the caller."""
        return self._spawn(name, argv)

    def _spawn(self, name: str, argv: list[str]) -> Child:
        self.children[name] = Child(name, argv, dict(os.environ), self.workdir)
        return self.children[name]

    def _start_and_wait(self, child: Child, wait) -> None:
        child.start()
        self.settle(child, wait)

    def settle(self, child: Child, wait) -> None:
        """Waits for a started child; one that does not come up is recorded in `failed` and stopped."""
        try:
            wait()
        except Exception as exc:  # a half-built service must not stop the other measurements
            self.failed[child.name] = str(exc)
            child.stop()

    def _service_env(self, ports: dict[str, int]) -> dict[str, str]:
        assert self.redis is not None and self.pki is not None
        env = dict(os.environ)
        env |= {
            "REDIS_URL": self.redis.url,
            "REDIS_CLUSTER_NODES": "",
            "GRPC_HOST": HOST,
            "WEBHOOK_PORT": str(ports["webhook"]),
            "STRIPE_SECRET_KEY": "sk_test_bench",
            "STRIPE_WEBHOOK_SECRET": "whsec_bench",
            "STRIPE_API_BASE": f"http://{HOST}:{ports['stripe']}",
        }
        for name in SERVICES:
            env[f"{name.upper()}_PORT"] = str(ports[name])
            env[f"{name.upper()}_SERVICE_ADDR"] = f"{HOST}:{ports[name]}"
        env |= self.pki.service_env()  # as shipped: mTLS, client certificates required, the access policy
        env["UVLOOP"] = "true" if self.server_uvloop else "false"  # the services pick their loop
        if self.log_level:
            env["LOG_LEVEL"] = self.log_level
        return env

    def serving(self, name: str) -> bool:
        child = self.children.get(name)
        return name not in self.failed and child is not None and child.alive()

    def pid(self, name: str) -> int:
        return self.children[name].pid

    def stop(self) -> None:
        for child in reversed(self.children.values()):
            child.stop()
        for server in reversed(self.extra_redis):
            server.stop()
        if self.redis is not None:
            self.redis.stop()

    def __enter__(self) -> Stack:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
