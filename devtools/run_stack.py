"""`make run`: a local Redis (AOF on) and the three services in the foreground; Ctrl-C/SIGTERM stops all."""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlparse

from devtools import dev_pki
from devtools.healthprobe import health_status
from devtools.redis_procs import RedisProcess, _locate_server
from svckit.config import CommonSettings

SERVICES = {"pricing_svc": "pricing_port", "balance_svc": "balance_port", "payment_svc": "payment_port"}
READY_TIMEOUT_S = 30.0
POLL_S = 0.2


class Stack:
    def __init__(self, settings: CommonSettings, state_dir: Path, env: dict[str, str] | None = None) -> None:
        self.settings = settings
        self.env = {**os.environ, **(env or {})}
        binary, source = _locate_server()
        self.redis = RedisProcess(state_dir / "redis", urlparse(settings.redis_url).port or 6379)
        print(f"redis: {binary} ({source}), appendfsync everysec, data in {self.redis.data_dir}", flush=True)
        self.addrs = {m: f"localhost:{getattr(settings, port)}" for m, port in SERVICES.items()}
        self.children: dict[str, subprocess.Popen[bytes]] = {}
        self.stopping = False

    def start(self) -> None:
        # Ctrl-C signals the terminal's whole process group. Redis inherits a blocked SIGINT, so it
        # keeps serving while the services drain, and stop() ends it last with SIGTERM.
        unblocked = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            self.redis.start()
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, unblocked)
        self.env["REDIS_URL"] = self.redis.url
        for module in SERVICES:
            self.start_service(module)

    def start_service(self, module: str) -> None:
        self.children[module] = subprocess.Popen([sys.executable, "-m", module], env=self.env)

    def stop_service(self, module: str) -> int:
        """SIGTERM one service and wait for it; its exit code."""
        proc = self.children[module]
        proc.send_signal(signal.SIGTERM)
        return proc.wait(self.settings.shutdown_grace_s + 5)

    def dead_child(self) -> str | None:
        return next((m for m, p in self.children.items() if p.poll() is not None), None)

    def wait_ready(self) -> str | None:
        """None once every service is SERVING; else why not (a child exited, timeout, or a signal)."""
        pending, deadline = dict(self.addrs), time.monotonic() + READY_TIMEOUT_S
        while pending and not self.stopping:
            if dead := self.dead_child():
                return f"{dead} exited with {self.children[dead].returncode} during startup"
            pending = {m: a for m, a in pending.items() if health_status(a, timeout_s=1) != "SERVING"}
            if pending and time.monotonic() > deadline:
                return f"not SERVING after {READY_TIMEOUT_S:.0f}s: {', '.join(pending)}"
            time.sleep(POLL_S)
        return None

    def supervise(self) -> str | None:
        """Blocks until a signal (None) or a child exits (why)."""
        while not self.stopping:
            if dead := self.dead_child():
                return f"{dead} exited with {self.children[dead].returncode}"
            time.sleep(POLL_S)
        return None

    def stop(self) -> bool:
        """SIGTERM drains the services before Redis goes; True if every service exited cleanly."""
        for proc in self.children.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        clean = True
        for module, proc in self.children.items():
            try:
                proc.wait(self.settings.shutdown_grace_s + 5)
            except subprocess.TimeoutExpired:
                print(f"{module} ignored SIGTERM; killing it", file=sys.stderr, flush=True)
                proc.kill()
                proc.wait()
            clean = clean and proc.returncode == 0
        self.redis.stop()
        return clean

    def ready_line(self) -> str:
        addrs = ", ".join(f"{m.removesuffix('_svc')} {a}" for m, a in self.addrs.items())
        webhook = f"http://localhost:{self.settings.webhook_port}/webhooks/stripe"
        hint = f"grpcurl -plaintext {self.addrs['pricing_svc']} list"
        return f"ready: {addrs}; webhooks {webhook}; redis {self.redis.url}; try `{hint}`"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.run_stack", description=__doc__)
    parser.add_argument("--state-dir", type=Path, default=Path(".state"), help="Redis data goes to DIR/redis")
    args = parser.parse_args(argv)
    dev_pki.configure_run_stack(args.state_dir)
    stack = Stack(CommonSettings(), args.state_dir)

    def request_stop(signum: int, _frame: object) -> None:
        stack.stopping = True

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, request_stop)
    failure = None
    try:
        stack.start()
        failure = stack.wait_ready()
        if failure is None and not stack.stopping:
            print(stack.ready_line(), flush=True)
            failure = stack.supervise()
    except RuntimeError as exc:  # Redis did not come up; its log tail is in the message
        failure = str(exc)
    finally:
        clean = stack.stop()
    if failure:
        print(f"run_stack: {failure}; stopped everything", file=sys.stderr, flush=True)
        return 1
    return 0 if clean else 1


if __name__ == "__main__":
    sys.exit(main())
