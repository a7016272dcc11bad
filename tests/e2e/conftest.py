"""The stack under test: from E2E_* addresses (compose), or started here as real local processes."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest

from devtools.redis_procs import free_port
from devtools.run_stack import Stack
from svckit.config import CommonSettings

WEBHOOK_SECRET = "whsec_e2e"
ADMIN_TOKEN = "e2e-admin-token"


@dataclass(frozen=True)
class Endpoints:
    pricing: str
    balance: str
    payment: str
    webhook_url: str
    fake_stripe_url: str
    webhook_secret: str
    admin_token: str
    stack: Stack | None  # None under compose: the suite cannot stop services there

    @property
    def admin(self) -> tuple[tuple[str, str], ...]:
        return (("authorization", f"Bearer {self.admin_token}"),)


def _from_env() -> Endpoints:
    env = os.environ
    return Endpoints(
        pricing=env["E2E_PRICING_ADDR"],
        balance=env["E2E_BALANCE_ADDR"],
        payment=env["E2E_PAYMENT_ADDR"],
        webhook_url=env["E2E_WEBHOOK_URL"],
        fake_stripe_url=env["E2E_FAKE_STRIPE_URL"],
        webhook_secret=env["E2E_WEBHOOK_SECRET"],
        admin_token=env["E2E_ADMIN_TOKEN"],
        stack=None,
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
def local_stack(tmp_path_factory, **extra_settings) -> Iterator[Endpoints]:
    """Redis, the three services and the fake Stripe as local processes on free ports."""
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
        **extra_settings,
    }
    env = {key.upper(): str(value) for key, value in settings.items()}
    common = CommonSettings(**{k: v for k, v in settings.items() if k in CommonSettings.model_fields})
    stack = Stack(common, tmp_path_factory.mktemp("e2e-state"), env=env)
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
            webhook_secret=WEBHOOK_SECRET,
            admin_token=ADMIN_TOKEN,
            stack=stack,
        )
    finally:
        stack.stop()
        fake.terminate()
        fake.wait()
