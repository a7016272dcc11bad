"""Helpers for the balance tests: a running balance_svc with a manual clock, request builders, raw Redis."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable
from dataclasses import dataclass

import grpc
import hiredis
import pytest
import redis
from balance.v1 import balance_service_pb2 as pb
from balance.v1 import balance_service_pb2_grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from svckit.clock import ManualClock
from svckit.status import error_info

TOP_UP = pb.TRANSACTION_REASON_TOP_UP
USAGE = pb.TRANSACTION_REASON_USAGE
PURCHASE = pb.TRANSACTION_REASON_PURCHASE
ADJUSTMENT = pb.TRANSACTION_REASON_ADJUSTMENT

_ids = itertools.count()


def unique(prefix: str) -> str:
    return f"{prefix}_{next(_ids)}"


@dataclass(frozen=True)
class Refusal:
    code: grpc.StatusCode
    reason: str
    violations: dict[str, str]


async def refused(call: Awaitable) -> Refusal:
    """Awaits a call that must fail and returns its code, ErrorInfo reason and field violations."""
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    error = caught.value
    info = error_info(error)
    violations = {}
    status = rpc_status.from_call(error)
    for detail in status.details if status else ():
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            detail.Unpack(bad)
            violations = {v.field: v.description for v in bad.field_violations}
    return Refusal(error.code(), info.reason if info else "", violations)


def node_clients(redis_overrides: dict[str, str]) -> list[redis.Redis]:
    """A plain client per Redis node (every master of a Cluster), for SCRIPT FLUSH, DBSIZE and the like."""
    if redis_overrides["redis_cluster_nodes"]:
        nodes = [n.rsplit(":", 1) for n in redis_overrides["redis_cluster_nodes"].split(",")]
        return [redis.Redis(host=host, port=int(port)) for host, port in nodes]
    return [redis.Redis.from_url(redis_overrides["redis_url"])]


def raw_client(redis_overrides: dict[str, str]) -> redis.Redis | redis.RedisCluster:
    """A plain synchronous client for the whole keyspace, single or Cluster, to read or tamper directly."""
    if redis_overrides["redis_cluster_nodes"]:
        host, port = redis_overrides["redis_cluster_nodes"].split(",")[0].rsplit(":", 1)
        return redis.RedisCluster(host=host, port=int(port))
    return redis.Redis.from_url(redis_overrides["redis_url"])


def key_count(redis_overrides: dict[str, str]) -> int:
    """Keys the ledger wrote: all but svckit.data_guard's deployment epoch."""
    total = 0
    for client in node_clients(redis_overrides):
        with client:
            total += client.dbsize() - client.exists("balance:data-epoch")
    return total


@dataclass
class Balances:
    """A running balance_svc: its stub, its clock and the Redis it runs on."""

    stub: balance_service_pb2_grpc.BalanceServiceStub
    clock: ManualClock
    redis: dict[str, str]

    async def credit(
        self, account_id: str, amount_minor: int, request_id: str = "", **fields
    ) -> pb.CreditResponse:
        fields.setdefault("reason", TOP_UP)
        return await self.stub.Credit(
            pb.CreditRequest(
                account_id=account_id,
                amount_minor=amount_minor,
                request_id=request_id or unique("credit"),
                **fields,
            )
        )

    async def debit(
        self, account_id: str, amount_minor: int, request_id: str = "", **fields
    ) -> pb.DebitResponse:
        fields.setdefault("reason", USAGE)
        return await self.stub.Debit(
            pb.DebitRequest(
                account_id=account_id,
                amount_minor=amount_minor,
                request_id=request_id or unique("debit"),
                **fields,
            )
        )

    async def hold(
        self, account_id: str, amount_minor: int, hold_id: str = "", timeout_ms: int = 60_000, **fields
    ) -> pb.CreateHoldResponse:
        return await self.stub.CreateHold(
            pb.CreateHoldRequest(
                account_id=account_id,
                amount_minor=amount_minor,
                timeout_ms=timeout_ms,
                request_id=hold_id or unique("hold"),
                **fields,
            )
        )

    async def capture(
        self, account_id: str, hold_id: str, amount_minor: int, request_id: str = ""
    ) -> pb.CaptureHoldResponse:
        return await self.stub.CaptureHold(
            pb.CaptureHoldRequest(
                account_id=account_id,
                hold_id=hold_id,
                amount_minor=amount_minor,
                reason=PURCHASE,
                request_id=request_id or unique("capture"),
            )
        )

    async def release(self, account_id: str, hold_id: str, request_id: str = "") -> pb.ReleaseHoldResponse:
        return await self.stub.ReleaseHold(
            pb.ReleaseHoldRequest(
                account_id=account_id, hold_id=hold_id, request_id=request_id or unique("release")
            )
        )

    async def balance(self, account_id: str) -> pb.Balance:
        return (await self.stub.GetBalance(pb.GetBalanceRequest(account_id=account_id))).balance

    async def verify(self, account_id: str) -> pb.VerifyAccountResponse:
        return await self.stub.VerifyAccount(pb.VerifyAccountRequest(account_id=account_id))

    async def transactions(self, account_id: str) -> list[pb.Transaction]:
        """The whole log, newest first, page by page."""
        entries, token = [], ""
        while True:
            page = await self.stub.ListTransactions(
                pb.ListTransactionsRequest(account_id=account_id, page_size=100, page_token=token)
            )
            entries.extend(page.transactions)
            token = page.next_page_token
            if not token:
                return entries


class RedisProxy:
    """A TCP proxy in front of Redis that records every command and can swallow one reply and drop that
    connection, as a flaky network would."""

    def __init__(self, upstream_port: int) -> None:
        self._upstream_port = upstream_port
        self.drop_reply_containing: bytes | None = None
        self.dropped = 0
        self.commands: list[list[bytes]] = []

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", 0)
        return self._server.sockets[0].getsockname()[1]

    def close(self) -> None:
        self._server.close()

    async def _relay(self, client_reader, client_writer) -> None:
        upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", self._upstream_port)
        parser = hiredis.Reader()

        async def pump(reader, writer, replies: bool) -> None:
            while data := await reader.read(65536):
                if not replies:
                    parser.feed(data)
                    while (command := parser.gets()) is not False:
                        self.commands.append(command)
                elif self.drop_reply_containing and self.drop_reply_containing in data:
                    self.drop_reply_containing = None
                    self.dropped += 1
                    break
                writer.write(data)
                await writer.drain()
            client_writer.close()
            upstream_writer.close()

        await asyncio.gather(
            pump(client_reader, upstream_writer, False),
            pump(upstream_reader, client_writer, True),
            return_exceptions=True,
        )
