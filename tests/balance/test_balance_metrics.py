"""/metrics after real RPCs: exact RPC counts by method and code, money by reason (replays not counted)."""

from __future__ import annotations

import asyncio
import functools

import grpc
from balance.v1 import balance_service_pb2 as pb
from balance.v1 import balance_service_pb2_grpc
from prometheus_client import REGISTRY

from balance_svc.config import Settings
from balance_svc.server import create_server
from devtools.redis_procs import free_port
from priceledger_client.channel import open_channel
from svckit.clock import ManualClock
from tests.balance.support import TOP_UP, USAGE, refused, unique
from tests.conftest import base_settings
from tests.observability.scrape import fetch, samples, value

REFUND = pb.TRANSACTION_REASON_REFUND
SERVICE = "balance.v1.BalanceService"
# What the RPCs below must add, and nothing else. The replayed credit runs its script (which replays)
# and counts as a handled Credit, but moves no money.
EXPECTED = {
    ("grpc_server_started_total", (("grpc_method", "Credit"),)): 4,
    ("grpc_server_handled_total", (("grpc_method", "Credit"), ("grpc_code", "OK"))): 3,
    ("grpc_server_handled_total", (("grpc_method", "Credit"), ("grpc_code", "InvalidArgument"))): 1,
    ("grpc_server_handled_total", (("grpc_method", "Debit"), ("grpc_code", "OK"))): 1,
    ("grpc_server_handled_total", (("grpc_method", "Debit"), ("grpc_code", "FailedPrecondition"))): 1,
    ("grpc_server_handled_total", (("grpc_method", "GetBalance"), ("grpc_code", "OK"))): 1,
    ("grpc_server_handling_seconds_count", (("grpc_method", "Debit"),)): 2,
    ("grpc_client_handled_total", (("grpc_method", "GetBalance"), ("grpc_code", "OK"))): 1,
    ("grpc_client_handled_total", (("grpc_method", "Debit"), ("grpc_code", "FailedPrecondition"))): 1,
    ("balance_credited_minor_total", (("reason", "TOP_UP"), ("currency", "EUR"))): 500,
    ("balance_credited_minor_total", (("reason", "REFUND"), ("currency", "EUR"))): 200,
    ("balance_debited_minor_total", (("reason", "USAGE"), ("currency", "EUR"))): 300,
    ("redis_script_calls_total", (("script", "credit"), ("outcome", "ok"))): 3,
    ("redis_script_calls_total", (("script", "debit"), ("outcome", "ok"))): 2,
    ("redis_script_duration_seconds_count", (("script", "debit"),)): 2,
}


def _labels(name: str, extra: tuple[tuple[str, str], ...]) -> dict[str, str]:
    if name.startswith("grpc_"):
        return {"grpc_type": "unary", "grpc_service": SERVICE, **dict(extra)}
    return dict(extra)


def _delta(before, after, key: tuple[str, tuple[tuple[str, str], ...]]) -> float:
    name, labels = key[0], _labels(*key)
    return value(after, name, **labels) - value(before, name, **labels)


async def _scrape(port: int):
    return samples(await asyncio.to_thread(fetch, port))


async def test_metrics_count_each_rpc_by_code_and_each_credit_once_by_reason(
    start_server, channel_to, any_redis
):
    port = free_port()
    settings = Settings(**base_settings(**any_redis, metrics_port=port))
    addr = await start_server(functools.partial(create_server, clock=ManualClock()), settings)
    stub, account = balance_service_pb2_grpc.BalanceServiceStub(channel_to(addr)), unique("acct_metrics")
    before = await _scrape(port)

    top_up = pb.CreditRequest(
        account_id=account, amount_minor=500, currency="EUR", reason=TOP_UP, request_id=unique("c")
    )
    await stub.Credit(top_up)
    await stub.Credit(top_up)  # a retry: replayed, no money moves
    await stub.Credit(
        pb.CreditRequest(
            account_id=account, amount_minor=200, currency="EUR", reason=REFUND, request_id=unique("c")
        )
    )
    await refused(
        stub.Credit(
            pb.CreditRequest(account_id=account, amount_minor=-1, reason=TOP_UP, request_id=unique("c"))
        )
    )
    await stub.Debit(  # no currency: the account's, EUR, labels it
        pb.DebitRequest(account_id=account, amount_minor=300, reason=USAGE, request_id=unique("d"))
    )
    async with open_channel(addr) as channel:  # the client side, as payment_svc calls
        peer = balance_service_pb2_grpc.BalanceServiceStub(channel)
        await peer.GetBalance(pb.GetBalanceRequest(account_id=account))
        await refused(
            peer.Debit(
                pb.DebitRequest(account_id=account, amount_minor=10_000, reason=USAGE, request_id=unique("d"))
            )
        )

    after = await _scrape(port)
    delta = {
        key: value(after, key[0], **_labels(*key)) - value(before, key[0], **_labels(*key))
        for key in EXPECTED
    }
    assert delta == EXPECTED


async def test_a_redis_outage_shows_as_redis_down_and_as_unavailable_script_calls(
    start_server, channel_to, own_redis
):
    port = free_port()
    settings = Settings(**base_settings(redis_url=own_redis.url, metrics_port=port))
    addr = await start_server(create_server, settings)
    stub, account = balance_service_pb2_grpc.BalanceServiceStub(channel_to(addr)), unique("acct_outage")
    await stub.Credit(pb.CreditRequest(account_id=account, amount_minor=100, reason=TOP_UP, request_id="o1"))
    before = await _scrape(port)
    assert value(before, "redis_up") == 1

    await asyncio.to_thread(own_redis.stop)
    debit = pb.DebitRequest(account_id=account, amount_minor=10, reason=USAGE, request_id=unique("d"))
    assert (await refused(stub.Debit(debit))).code == grpc.StatusCode.UNAVAILABLE

    after = await _scrape(port)
    unavailable = ("redis_script_calls_total", (("script", "debit"), ("outcome", "unavailable")))
    handled = ("grpc_server_handled_total", (("grpc_method", "Debit"), ("grpc_code", "Unavailable")))
    assert [_delta(before, after, key) for key in (unavailable, handled)] == [1, 1]
    for _ in range(100):  # the health probe runs every 0.1 s here
        if value(await _scrape(port), "redis_up") == 0:
            break
        await asyncio.sleep(0.1)
    assert value(await _scrape(port), "redis_up") == 0


async def test_a_credit_whose_reply_was_lost_and_resent_is_counted_once_and_its_retry_not_again(
    proxied_balances,
):
    balances, proxy = proxied_balances
    account = unique("acct_lost_reply")
    credited = {"reason": "TOP_UP", "currency": "CHF"}
    before = REGISTRY.get_sample_value("balance_credited_minor_total", credited) or 0.0
    proxy.drop_reply_containing = b"lost-reply"  # the script ran; its reply never arrives
    request = pb.CreditRequest(
        account_id=account,
        amount_minor=900,
        currency="CHF",
        reason=TOP_UP,
        reference="lost-reply",
        request_id=unique("c"),
    )
    await balances.stub.Credit(request)  # answered from the resent call, which the script replays
    await balances.stub.Credit(request)  # the client's own retry: a replay of an earlier call
    assert proxy.dropped == 1
    assert REGISTRY.get_sample_value("balance_credited_minor_total", credited) - before == 900


async def test_metrics_port_0_measures_no_rpc_and_no_script_but_still_counts_money(
    start_server, channel_to, any_redis
):
    settings = Settings(**base_settings(**any_redis, metrics_port=0))
    addr = await start_server(functools.partial(create_server, clock=ManualClock()), settings)
    stub, account = balance_service_pb2_grpc.BalanceServiceStub(channel_to(addr)), unique("acct_off")
    rpc = {"grpc_type": "unary", "grpc_service": SERVICE, "grpc_method": "Credit"}
    watched = {
        ("grpc_server_started_total", tuple(rpc.items())): 0,
        ("grpc_server_handling_seconds_count", tuple(rpc.items())): 0,
        ("redis_script_calls_total", (("script", "credit"), ("outcome", "ok"))): 0,
        ("redis_script_duration_seconds_count", (("script", "credit"),)): 0,
        ("balance_credited_minor_total", (("reason", "TOP_UP"), ("currency", "SEK"))): 700,
    }
    before = {key: REGISTRY.get_sample_value(key[0], dict(key[1])) or 0.0 for key in watched}

    await stub.Credit(
        pb.CreditRequest(
            account_id=account, amount_minor=700, currency="SEK", reason=TOP_UP, request_id=unique("c")
        )
    )

    after = {key: REGISTRY.get_sample_value(key[0], dict(key[1])) or 0.0 for key in watched}
    assert {key: after[key] - before[key] for key in watched} == watched
