"""`python -m devtools.run_stack` (what `make run` runs) as a real process tree on free ports."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import grpc
from balance.v1 import balance_service_pb2 as bal
from balance.v1 import balance_service_pb2_grpc
from payment.v1 import payment_service_pb2 as pay
from payment.v1 import payment_service_pb2_grpc

from devtools.redis_procs import free_port

PORT_VARS = ("PRICING_PORT", "BALANCE_PORT", "PAYMENT_PORT", "WEBHOOK_PORT")


class RunningStack:
    def __init__(self, workdir: Path, **env: str) -> None:
        self.ports = {var: free_port() for var in PORT_VARS}
        self.redis_port, self.fake_stripe_port = free_port(), free_port()
        self.state_dir = workdir / "state"
        self.stderr_path = workdir / "stderr.log"
        self.extra_env = env
        self.proc: subprocess.Popen[str] | None = None
        self.stdout: list[str] = []

    @property
    def grpc_addrs(self) -> list[str]:
        return [f"localhost:{self.ports[var]}" for var in PORT_VARS[:3]]

    @property
    def fake_stripe_url(self) -> str:
        return f"http://127.0.0.1:{self.fake_stripe_port}"

    def start(self) -> None:
        # A developer's own Stripe settings would turn the stand-in off; tests pass theirs explicitly.
        own = {key: value for key, value in os.environ.items() if not key.upper().startswith("STRIPE_")}
        env = {
            **own,
            **{var: str(port) for var, port in self.ports.items()},
            "REDIS_URL": f"redis://127.0.0.1:{self.redis_port}/0",
            "PRICING_SERVICE_ADDR": self.grpc_addrs[0],
            "BALANCE_SERVICE_ADDR": self.grpc_addrs[1],
            "GRPC_HOST": "127.0.0.1",
            "LOG_LEVEL": "WARNING",
            "METRICS_PORT": "0",  # the default ports are fixed; another run here may hold them
            "PLAINTEXT_DEV_MODE": "true",  # make run's mTLS: tests/security/test_make_run_tls.py
            **self.extra_env,
        }
        argv = [sys.executable, "-m", "devtools.run_stack", "--state-dir", str(self.state_dir)]
        with open(self.stderr_path, "w") as stderr:
            self.proc = subprocess.Popen(
                [*argv, "--fake-stripe-port", str(self.fake_stripe_port)],
                env=env,
                stdout=subprocess.PIPE,
                stderr=stderr,
                text=True,
                start_new_session=True,  # its own process group, as in a terminal: see ctrl_c()
            )

    def wait_ready(self) -> bool:
        """Reads stdout to the end of the ready block (True) or until run_stack exits (False)."""
        for line in self.proc.stdout:
            self.stdout.append(line)
            if line.startswith("  try "):
                return True
        return False

    @property
    def ready_block(self) -> str:
        text = "".join(self.stdout)
        return text[text.index("ready: ") :]

    def success_url(self) -> str:
        """The stand-in's own landing page, with Stripe's placeholder for the session id."""
        return f"{self.fake_stripe_url}/c/landing?session_id={{CHECKOUT_SESSION_ID}}"

    def cancel_url(self) -> str:
        return f"{self.fake_stripe_url}/c/landing"

    def open_checkout(self, account_id: str, request_id: str, *, top_up_blocks: int = 0):
        """CreateCheckoutSession for the launch product (or CreateTopUpSession) over real gRPC."""
        urls = {"success_url": self.success_url(), "cancel_url": self.cancel_url(), "request_id": request_id}
        with grpc.insecure_channel(self.grpc_addrs[2]) as channel:
            payment = payment_service_pb2_grpc.PaymentServiceStub(channel)
            if top_up_blocks:
                request = pay.CreateTopUpSessionRequest(account_id=account_id, blocks=top_up_blocks, **urls)
                return payment.CreateTopUpSession(request, timeout=10)
            request = pay.CreateCheckoutSessionRequest(
                account_id=account_id, product_id="launch-product", **urls
            )
            return payment.CreateCheckoutSession(request, timeout=10)

    def order(self, order_id: str) -> pay.Order:
        with grpc.insecure_channel(self.grpc_addrs[2]) as channel:
            stub = payment_service_pb2_grpc.PaymentServiceStub(channel)
            return stub.GetOrder(pay.GetOrderRequest(order_id=order_id), timeout=10).order

    def order_reaching(self, order_id: str, status: int, timeout_s: float = 20.0) -> pay.Order:
        """The order once it has `status` (webhooks are asynchronous), or as it was at the deadline."""
        deadline = time.monotonic() + timeout_s
        while (order := self.order(order_id)).status != status and time.monotonic() < deadline:
            time.sleep(0.1)
        return order

    def balance_minor(self, account_id: str) -> int:
        with grpc.insecure_channel(self.grpc_addrs[1]) as channel:
            stub = balance_service_pb2_grpc.BalanceServiceStub(channel)
            reply = stub.GetBalance(bal.GetBalanceRequest(account_id=account_id), timeout=10)
            return reply.balance.balance_minor

    def ctrl_c(self) -> None:
        """SIGINT to the whole foreground process group, as a terminal sends on Ctrl-C."""
        os.killpg(self.proc.pid, signal.SIGINT)

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

    def everything_is_down(self) -> bool:
        ports = [self.redis_port, self.fake_stripe_port, *(self.ports[var] for var in PORT_VARS)]
        return not any(accepts_connections(port) for port in ports)

    def stop(self) -> None:
        """Kills whatever a failed test left running."""
        if self.proc is None or self.proc.poll() is not None:
            return
        orphans = self.children()
        self.proc.kill()
        self.proc.wait()
        for pid in orphans.values():
            os.kill(pid, signal.SIGKILL)


def accepts_connections(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0
