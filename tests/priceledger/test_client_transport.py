"""What the client does on the wire: retries, deadlines, request ids and metadata, seen by a scripted peer."""

from __future__ import annotations

import re

import grpc
import pytest
from balance.v1 import balance_service_pb2 as bal
from balance.v1 import balance_service_pb2 as balance_pb2
from payment.v1 import payment_service_pb2 as payment_pb2
from pricing.v1 import pricing_service_pb2 as pricing_pb2

from priceledger_client import (
    CORRELATION_ID_HEADER,
    BalanceClient,
    DeadlineExceeded,
    FailedPrecondition,
    PaymentClient,
    PricingClient,
    Unavailable,
)
from priceledger_client.channel import RETRY_POLICY
from tests.priceledger.scripted_peer import HANG, ScriptedPeer

PROMO = bal.TRANSACTION_REASON_PROMOTIONAL


@pytest.fixture
async def peer():
    async with ScriptedPeer() as scripted:
        yield scripted


@pytest.fixture
async def client(peer):
    async with BalanceClient(peer.addr) as c:
        yield c


async def test_unavailable_is_retried_with_the_same_request_id_and_correlation_id(peer, client):
    peer.outcomes = [grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.UNAVAILABLE]
    await client.credit("acct-1", 100, reason=PROMO)
    sent = [(a.request.request_id, a.metadata[CORRELATION_ID_HEADER]) for a in peer.attempts]
    assert len(sent) == 3 and len(set(sent)) == 1
    assert re.fullmatch("[0-9a-f]{32}", sent[0][0])


async def test_retries_stop_after_the_policys_attempts_and_the_error_names_the_request_id(peer, client):
    peer.outcomes = [grpc.StatusCode.UNAVAILABLE] * 10
    with pytest.raises(Unavailable) as caught:
        await client.credit("acct-1", 100, reason=PROMO, request_id="credit-once")
    assert len(peer.attempts) == RETRY_POLICY["maxAttempts"]
    assert (caught.value.request_id, caught.value.transient) == ("credit-once", True)
    assert {a.request.request_id for a in peer.attempts} == {"credit-once"}


async def test_a_refusal_is_not_retried(peer, client):
    peer.outcomes = [grpc.StatusCode.FAILED_PRECONDITION]
    with pytest.raises(FailedPrecondition) as caught:
        await client.credit("acct-1", 100, reason=PROMO)
    assert len(peer.attempts) == 1
    assert caught.value.transient is False
    # Without an ErrorInfo the reason is the code's name, so callers can always switch on it.
    assert caught.value.reason == "FAILED_PRECONDITION"


async def test_each_operation_without_a_request_id_gets_its_own(peer, client):
    await client.credit("acct-1", 100, reason=PROMO)
    await client.credit("acct-1", 100, reason=PROMO)
    assert peer.attempts[0].request.request_id != peer.attempts[1].request.request_id


async def test_a_call_past_its_deadline_raises_deadline_exceeded_with_its_request_id(peer, client):
    peer.outcomes = [HANG]
    with pytest.raises(DeadlineExceeded) as caught:
        await client.credit("acct-1", 100, reason=PROMO, request_id="slow-credit", timeout_s=0.2)
    assert caught.value.request_id == "slow-credit"


async def test_the_clients_timeout_replaces_the_method_defaults(peer):
    peer.outcomes = [HANG]
    async with BalanceClient(peer.addr, timeout_s=0.2) as c:
        with pytest.raises(DeadlineExceeded) as caught:
            await c.get_balance("acct-1")
    assert caught.value.request_id is None  # reads carry no idempotency key


async def test_the_method_default_deadline_is_sent_unless_the_call_gives_one(peer, client):
    await client.get_balance("acct-1")
    await client.get_balance("acct-1", timeout_s=60)
    default_s = BalanceClient.deadlines_s["GetBalance"]
    # The wire carries the timeout rounded up, so the server may see a little more than was set.
    assert 0 < peer.attempts[0].time_remaining_s < default_s + 1 < peer.attempts[1].time_remaining_s


async def test_the_correlation_id_comes_from_the_source_or_is_new_per_call(peer):
    async with BalanceClient(peer.addr, correlation_id=lambda: "rpc-being-served") as traced:
        await traced.get_balance("acct-1")
    async with BalanceClient(peer.addr) as untraced:
        await untraced.get_balance("acct-1")
        await untraced.get_balance("acct-1")
    sent = [a.metadata[CORRELATION_ID_HEADER] for a in peer.attempts]
    assert sent[0] == "rpc-being-served"
    assert len(set(sent)) == 3


async def test_the_admin_token_and_caller_id_are_sent_only_when_given(peer):
    async with BalanceClient(peer.addr, admin_token="s3cret", caller_id="ops:alice") as admin:
        await admin.get_balance("acct-1")
    async with BalanceClient(peer.addr) as plain:
        await plain.get_balance("acct-1")
    first, second = (a.metadata for a in peer.attempts)
    assert (first["authorization"], first["x-caller-id"]) == ("Bearer s3cret", "ops:alice")
    assert "authorization" not in second and "x-caller-id" not in second


async def test_an_error_mapper_decides_what_the_caller_sees(peer):
    class PeerDown(Exception):
        pass

    peer.outcomes = [grpc.StatusCode.UNAVAILABLE] * 10
    async with BalanceClient(peer.addr, error_mapper=lambda err: PeerDown(err.reason)) as c:
        with pytest.raises(PeerDown, match="UNAVAILABLE"):
            await c.get_balance("acct-1")


@pytest.mark.parametrize(
    ("client_class", "proto_module"),
    [
        (PricingClient, pricing_pb2),
        (BalanceClient, balance_pb2),
        (PaymentClient, payment_pb2),
    ],
)
def test_every_rpc_has_a_client_method_and_a_default_deadline(client_class, proto_module):
    service = proto_module.DESCRIPTOR.services_by_name[client_class.stub_class.__name__.removesuffix("Stub")]
    rpcs = {m.name for m in service.methods}
    assert set(client_class.deadlines_s) == rpcs
    snake = {re.sub(r"(?<!^)(?=[A-Z])", "_", rpc).lower() for rpc in rpcs}
    assert all(callable(getattr(client_class, method, None)) for method in snake), snake
