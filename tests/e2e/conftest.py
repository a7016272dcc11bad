"""The stack under test: from E2E_* addresses (compose), or started here as real local processes."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Protocol

import pytest

from devtools.healthprobe import health_status
from devtools.redis_procs import free_port
from devtools.run_stack import Stack
from svckit.config import CommonSettings

WEBHOOK_SECRET = "whsec_e2e"
ADMIN_TOKEN = "e2e-admin-token"


class Restartable(Protocol):
    def stop(self) -> int:
        """Stops the service gracefully; 0 if that went cleanly."""

    def start(self) -> str | None:
        """Starts it again; None once it is SERVING, else why not."""


@dataclass(frozen=True)
class LocalBalance:
    """balance_svc as a process of the Stack this suite started."""

    stack: Stack

    def stop(self) -> int:
        return self.stack.stop_service("balance_svc")

    def start(self) -> str | None:
        self.stack.start_service("balance_svc")
        return self.stack.wait_ready()


@dataclass(frozen=True)
class ComposeBalance:
    """The compose service `balance`, stopped and started with the compose CLI (E2E_COMPOSE) from the host."""

    compose: list[str]
    addr: str
    ready_timeout_s: float = 60.0

    def stop(self) -> int:
        return subprocess.run([*self.compose, "stop", "balance"], timeout=60).returncode

    def start(self) -> str | None:
        subprocess.run([*self.compose, "start", "balance"], timeout=60, check=True)
        deadline = time.monotonic() + self.ready_timeout_s
        while (status := health_status(self.addr, timeout_s=1)) != "SERVING":
            if time.monotonic() > deadline:
                return f"balance is {status} {self.ready_timeout_s:.0f}s after compose start"
            time.sleep(0.5)
        return None


@dataclass(frozen=True)
class Endpoints:
    pricing: str
    balance: str
    payment: str
    webhook_url: str | None  # None: the run cannot reach the fake Stripe (the host-side compose run)
    fake_stripe_url: str | None
    admin_token: str
    # None inside the compose `tests` container: from there nothing can stop a service.
    restartable_balance: Restartable | None

    @property
    def admin(self) -> tuple[tuple[str, str], ...]:
        return (("authorization", f"Bearer {self.admin_token}"),)


def _from_env() -> Endpoints:
    env = os.environ
    compose = shlex.split(env.get("E2E_COMPOSE", ""))
    return Endpoints(
        pricing=env["E2E_PRICING_ADDR"],
        balance=env["E2E_BALANCE_ADDR"],
        payment=env["E2E_PAYMENT_ADDR"],
        webhook_url=env.get("E2E_WEBHOOK_URL"),
        fake_stripe_url=env.get("E2E_FAKE_STRIPE_URL"),
        admin_token=env["E2E_ADMIN_TOKEN"],
        restartable_balance=ComposeBalance(compose, env["E2E_BALANCE_ADDR"]) if compose else None,
    )


def _start_fake_stripe(webhook_url: str) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "devtools.fake_stripe",
            "--port",
            "0",
            "--webhook-url",
            webhook_url,
            "--webhook-secret",
            WEBHOOK_SECRET,
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    return proc, proc.stdout.readline().strip()


@pytest.fixture(scope="session")
def e2e(tmp_path_factory) -> Iterator[Endpoints]:
    if "E2E_PRICING_ADDR" in os.environ:
        yield _from_env()
        return
    with local_stack(tmp_path_factory, plaintext_dev_mode=True) as endpoints:  # mTLS: test_story_tls.py
        yield endpoints


@contextmanager
def local_stack(
    tmp_path_factory, service_env: dict[str, dict[str, str]] | None = None, **extra_settings
) -> Iterator[Endpoints]:
    """Redis, the three services and the fake Stripe as local processes on free ports; `service_env`
    (module -> variables) sets one service's own, such as its METRICS_PORT."""
    ports = {name: free_port() for name in ("pricing", "balance", "payment", "webhook", "redis")}
    webhook_url = f"http://127.0.0.1:{ports['webhook']}/webhooks/stripe"
    fake, fake_url = _start_fake_stripe(webhook_url)
    addrs = {name: f"127.0.0.1:{ports[name]}" for name in ("pricing", "balance", "payment")}
    settings = {
        "pricing_port": ports["pricing"],
        "balance_port": ports["balance"],
        "payment_port": ports["payment"],
        "webhook_port": ports["webhook"],
        "redis_url": f"redis://127.0.0.1:{ports['redis']}/0",
        "pricing_service_addr": addrs["pricing"],
        "balance_service_addr": addrs["balance"],
        "payment_service_addr": addrs["payment"],
        "admin_token": ADMIN_TOKEN,
        "stripe_secret_key": "sk_test_e2e",
        "stripe_webhook_secret": WEBHOOK_SECRET,
        "stripe_api_base": fake_url,
        "log_level": "WARNING",
        "shutdown_grace_s": 2,
        "metrics_port": 0,  # the default ports are fixed; another run here may hold them
        **extra_settings,
    }
    env = {key.upper(): str(value) for key, value in settings.items()}
    common = CommonSettings(**{k: v for k, v in settings.items() if k in CommonSettings.model_fields})
    stack = Stack(common, tmp_path_factory.mktemp("e2e-state"), env=env, service_env=service_env)
    try:
        stack.start()
        failure = stack.wait_ready()
        assert failure is None, failure
        yield Endpoints(
            pricing=addrs["pricing"],
            balance=addrs["balance"],
            payment=addrs["payment"],
            webhook_url=webhook_url,
            fake_stripe_url=fake_url,
            admin_token=ADMIN_TOKEN,
            restartable_balance=LocalBalance(stack),
        )
    finally:
        stack.stop()
        fake.terminate()
        fake.wait()
