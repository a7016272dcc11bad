"""`make run`: Redis, the services and, without Stripe keys, a local Stripe stand-in; Ctrl-C stops all."""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import socket
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
FAKE_STRIPE = "devtools.fake_stripe"
FAKE_STRIPE_PORT = 12111
# The stand-in accepts any sk_test_ key; the webhook secret is new each run and shared with payment_svc.
FAKE_STRIPE_KEY = "sk_test_local_stand_in"
FSYNC_NOTE = {
    "always": "every acknowledged write is on disk; REDIS_APPENDFSYNC=everysec is faster, "
    "but a host crash may lose about 1 s of acknowledged writes",
    "everysec": "a host crash may lose about 1 s of acknowledged writes; the default is always",
    "no": "the OS decides when to write; a host crash may lose more than 1 s of acknowledged writes",
}
READY_TIMEOUT_S = 30.0
POLL_S = 0.2


class Stack:
    """Starts and stops the processes; with no STRIPE_SECRET_KEY in `env` (or the environment) it
    also runs the fake Stripe on `fake_stripe_port` and points payment_svc and its webhooks at it."""

    def __init__(
        self,
        settings: CommonSettings,
        state_dir: Path,
        env: dict[str, str] | None = None,
        *,
        appendfsync: str = "always",
        fake_stripe_port: int = FAKE_STRIPE_PORT,
        service_env: dict[str, dict[str, str]] | None = None,
    ) -> None:
        self.settings = settings
        self.env = {**os.environ, **(env or {})}
        self.service_env = service_env or {}  # module -> variables for that service alone (METRICS_PORT)
        binary, source = _locate_server()
        port = urlparse(settings.redis_url).port or 6379
        self.redis = RedisProcess(state_dir / "redis", port, appendfsync=appendfsync)
        where = f"redis: {binary} ({source}), appendfsync {appendfsync}"
        print(f"{where} ({FSYNC_NOTE[appendfsync]}), data in {self.redis.data_dir}", flush=True)
        self.addrs = {m: f"localhost:{getattr(settings, port)}" for m, port in SERVICES.items()}
        host = "127.0.0.1" if settings.grpc_host in ("[::]", "::", "0.0.0.0") else settings.grpc_host
        self.webhook_url = f"http://{host}:{settings.webhook_port}/webhooks/stripe"
        self.stripe_key = _env_value(self.env, "STRIPE_SECRET_KEY")
        self.fake_stripe_url = None if self.stripe_key else f"http://127.0.0.1:{fake_stripe_port}"
        self.children: dict[str, subprocess.Popen[bytes]] = {}
        self.stopping = False

    def start(self) -> None:
        # Ctrl-C signals the terminal's whole process group. Redis inherits a blocked SIGINT, and the
        # other children get process groups of their own, so only stop() signals them, once each: a
        # second signal reaching a service that has just drained would kill it instead.
        unblocked = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            self.redis.start()
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, unblocked)
        if self.fake_stripe_url:
            self.start_fake_stripe()
        self.env["REDIS_URL"] = self.redis.url
        for module in SERVICES:
            self.start_service(module)

    def start_fake_stripe(self) -> None:
        webhook_secret = f"whsec_{secrets.token_hex(24)}"
        port = str(urlparse(self.fake_stripe_url).port)
        argv = [sys.executable, "-m", FAKE_STRIPE, "--port", port]
        argv += ["--webhook-url", self.webhook_url, "--webhook-secret", webhook_secret]
        # It prints only its URL, which we chose.
        self.children[FAKE_STRIPE] = subprocess.Popen(
            argv, env=self.env, stdout=subprocess.DEVNULL, process_group=0
        )
        self.env |= {
            "STRIPE_SECRET_KEY": FAKE_STRIPE_KEY,
            "STRIPE_WEBHOOK_SECRET": webhook_secret,
            "STRIPE_API_BASE": self.fake_stripe_url,
        }

    def start_service(self, module: str) -> None:
        self.children[module] = subprocess.Popen(
            [sys.executable, "-m", module], env=self.env | self.service_env.get(module, {}), process_group=0
        )

    def stop_service(self, module: str) -> int:
        """SIGTERM one service and wait for it; its exit code."""
        proc = self.children[module]
        proc.send_signal(signal.SIGTERM)
        return proc.wait(self.settings.shutdown_grace_s + 5)

    def dead_child(self) -> str | None:
        return next((m for m, p in self.children.items() if p.poll() is not None), None)

    def is_ready(self, name: str) -> bool:
        if name == FAKE_STRIPE:
            with socket.socket() as s:
                return s.connect_ex(("127.0.0.1", urlparse(self.fake_stripe_url).port)) == 0
        return health_status(self.addrs[name], timeout_s=1) == "SERVING"

    def wait_ready(self) -> str | None:
        """None once every service is SERVING; else why not (a child exited, timeout, or a signal)."""
        pending, deadline = list(self.children), time.monotonic() + READY_TIMEOUT_S
        while pending and not self.stopping:
            if dead := self.dead_child():
                return f"{dead} exited with {self.children[dead].returncode} during startup"
            pending = [name for name in pending if not self.is_ready(name)]
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
        """SIGTERM drains the services before the fake Stripe and Redis go; True if all exited cleanly."""
        services = {m: p for m, p in self.children.items() if m in SERVICES}
        helpers = {m: p for m, p in self.children.items() if m not in SERVICES}
        clean = self._terminate(services) & self._terminate(helpers)
        self.redis.stop()
        return clean

    def _terminate(self, procs: dict[str, subprocess.Popen[bytes]]) -> bool:
        for proc in procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        clean = True
        for name, proc in procs.items():
            try:
                proc.wait(self.settings.shutdown_grace_s + 5)
            except subprocess.TimeoutExpired:
                print(f"{name} ignored SIGTERM; killing it", file=sys.stderr, flush=True)
                proc.kill()
                proc.wait()
            clean = clean and proc.returncode == 0
        return clean

    def ready_lines(self) -> str:
        """What is where, where payments go, and a first command; the last line starts with "  try"."""
        addrs = ", ".join(f"{m.removesuffix('_svc')} {a}" for m, a in self.addrs.items())
        plaintext = CommonSettings().plaintext_dev_mode
        flags = (
            "-plaintext"
            if plaintext
            else "-cacert $TLS_CA_FILE -cert $TLS_CLIENT_CERT_FILE -key $TLS_CLIENT_KEY_FILE"
        )
        hint = f"grpcurl {flags} {self.addrs['pricing_svc']} list"
        return "\n".join(
            [
                f"ready: {addrs}; webhooks {self.webhook_url}; redis {self.redis.url}",
                *self.payments_lines(),
                f"  try `{hint}`; the README's Quick start walks through a purchase",
            ]
        )

    def payments_lines(self) -> list[str]:
        listen = f"stripe listen --forward-to {self.webhook_url}"
        if self.fake_stripe_url:
            return [
                f"  payments: LOCAL TEST DOUBLE at {self.fake_stripe_url} (devtools.fake_stripe), "
                "NOT Stripe: no card is charged and no money moves; open an order's checkout_url to pay",
                "  to use Stripe test mode instead: set STRIPE_SECRET_KEY=sk_test_... and "
                f"STRIPE_WEBHOOK_SECRET=<the whsec_... that `{listen}` prints>, keep that running, "
                "and make run again",
            ]
        mode = "LIVE mode: real cards are charged" if self.stripe_key.startswith("sk_live_") else "test mode"
        webhooks = (
            f"webhooks come through `{listen}`"
            if _env_value(self.env, "STRIPE_WEBHOOK_SECRET")
            else f"STRIPE_WEBHOOK_SECRET is unset, so every webhook is refused: run `{listen}` and set it"
        )
        return [f"  payments: Stripe {mode} with your STRIPE_SECRET_KEY; {webhooks}"]


def _env_value(env: dict[str, str], name: str) -> str:
    """A setting as the services read it: environment names are case-insensitive to pydantic-settings."""
    return next((value for key, value in env.items() if key.upper() == name and value), "")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.run_stack", description=__doc__)
    parser.add_argument("--state-dir", type=Path, default=Path(".state"), help="Redis data goes to DIR/redis")
    parser.add_argument(
        "--appendfsync",
        choices=sorted(FSYNC_NOTE),
        default=os.environ.get("REDIS_APPENDFSYNC", "always"),
        help="Redis AOF fsync policy (default $REDIS_APPENDFSYNC, else always: a ledger loses no "
        "acknowledged write; everysec is faster and may lose about 1 s on a host crash)",
    )
    parser.add_argument(
        "--fake-stripe-port",
        type=int,
        default=int(os.environ.get("FAKE_STRIPE_PORT", FAKE_STRIPE_PORT)),
        help="port of the local Stripe stand-in, started when STRIPE_SECRET_KEY is unset "
        "(default $FAKE_STRIPE_PORT, else %(default)s)",
    )
    args = parser.parse_args(argv)
    dev_pki.configure_run_stack(args.state_dir)
    stack = Stack(
        CommonSettings(), args.state_dir, appendfsync=args.appendfsync, fake_stripe_port=args.fake_stripe_port
    )

    def request_stop(signum: int, _frame: object) -> None:
        stack.stopping = True

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, request_stop)
    failure = None
    try:
        stack.start()
        failure = stack.wait_ready()
        if failure is None and not stack.stopping:
            print(stack.ready_lines(), flush=True)
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
