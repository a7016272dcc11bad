"""One failover under load: writers credit and debit through a real balance_svc on a Sentinel group, the
replica is held back, the primary is killed -9, and every acknowledged mutation is looked up afterwards."""

from __future__ import annotations

import asyncio
import itertools
import time
from dataclasses import dataclass, field

import grpc
from balance.v1 import balance_service_pb2 as pb
from balance.v1 import balance_service_pb2_grpc

from balance_svc.config import Settings
from balance_svc.server import create_server
from devtools.redis_procs import SentinelGroup
from svckit.status import error_info
from tests.conftest import base_settings

_ids = itertools.count()
_CALL_DEADLINE_S = 2.0
_RETRY_PAUSE_S = 0.05


@dataclass
class Outcome:
    """What the writers saw: acknowledged mutations, and when writes failed around the kill."""

    acknowledged: dict[str, dict[str, int]] = field(default_factory=dict)  # account -> request_id -> amount
    refusals: dict[str, int] = field(default_factory=dict)  # ErrorInfo reason (or code) -> count
    killed_at: float = 0.0
    first_ok_after_kill: float | None = None
    lost: int = 0
    inconsistent_accounts: int = 0

    @property
    def acknowledged_count(self) -> int:
        return sum(len(ids) for ids in self.acknowledged.values())

    @property
    def unavailable_s(self) -> float:
        """From the kill to the first acknowledgement of a call sent after it."""
        return (self.first_ok_after_kill or float("nan")) - self.killed_at


def sentinel_settings(group: SentinelGroup, acks: int, **overrides) -> Settings:
    return Settings(
        **base_settings(
            redis_url="",
            redis_cluster_nodes="",
            redis_sentinels=group.sentinel_addrs,
            redis_sentinel_master=group.master_name,
            redis_min_replica_acks=acks,
            redis_replica_ack_timeout_ms=300,
            **overrides,
        )
    )


def _reason(error: grpc.aio.AioRpcError) -> str:
    info = error_info(error)
    return info.reason if info else error.code().name


async def _writer(stub, account: str, outcome: Outcome, stop: asyncio.Event) -> None:
    """Credits 3, debits 1, credits 3...; a failed call is retried with its request_id until acknowledged."""
    mine = outcome.acknowledged.setdefault(account, {})
    for n in itertools.count():
        if stop.is_set():
            return
        request_id = f"{account}-{n}-{next(_ids)}"
        credit = n % 2 == 0
        while True:
            started = time.monotonic()
            try:
                if credit:
                    await stub.Credit(
                        pb.CreditRequest(
                            account_id=account,
                            amount_minor=3,
                            currency="USD",
                            reason=pb.TRANSACTION_REASON_TOP_UP,
                            request_id=request_id,
                        ),
                        timeout=_CALL_DEADLINE_S,
                    )
                else:
                    await stub.Debit(
                        pb.DebitRequest(
                            account_id=account,
                            amount_minor=1,
                            currency="USD",
                            reason=pb.TRANSACTION_REASON_USAGE,
                            request_id=request_id,
                        ),
                        timeout=_CALL_DEADLINE_S,
                    )
            except grpc.aio.AioRpcError as error:
                reason = _reason(error)
                outcome.refusals[reason] = outcome.refusals.get(reason, 0) + 1
                if error.code() not in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
                    raise  # a refusal on its merits (say, INSUFFICIENT_FUNDS after a lost credit)
                await asyncio.sleep(_RETRY_PAUSE_S)
                continue
            mine[request_id] = 3 if credit else -1
            if outcome.killed_at and started > outcome.killed_at and outcome.first_ok_after_kill is None:
                outcome.first_ok_after_kill = time.monotonic()
            break


async def _count_lost(stub, outcome: Outcome) -> None:
    for account, acked in outcome.acknowledged.items():
        found, token = set(), ""
        while True:
            page = await stub.ListTransactions(
                pb.ListTransactionsRequest(account_id=account, page_size=100, page_token=token)
            )
            found |= {t.request_id for t in page.transactions}
            token = page.next_page_token
            if not token:
                break
        outcome.lost += len(set(acked) - found)
        verdict = await stub.VerifyAccount(pb.VerifyAccountRequest(account_id=account))
        outcome.inconsistent_accounts += not verdict.consistent


async def failover_under_load(
    group: SentinelGroup, *, acks: int, writers: int = 4, hold_s: float = 0.5, after_s: float = 0.5
) -> Outcome:
    """Writes, holds the replica back for `hold_s` of writes, kills the primary -9 and lets Sentinel promote
    the replica; the killed server comes back as a replica (so acks=1 can be met again)."""
    app, port = await create_server(sentinel_settings(group, acks))
    await app.start()
    outcome, stop = Outcome(), asyncio.Event()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = balance_service_pb2_grpc.BalanceServiceStub(channel)
            tasks = [
                asyncio.create_task(_writer(stub, f"ha_{next(_ids)}", outcome, stop)) for _ in range(writers)
            ]
            await asyncio.sleep(0.3)
            old_primary = group.primary()
            await asyncio.to_thread(group.hold_back_replica)
            await asyncio.sleep(hold_s)
            old_primary.kill9()
            outcome.killed_at = time.monotonic()
            await asyncio.to_thread(group.wait_for_new_primary, old_primary)
            await asyncio.to_thread(group.release_replica)
            await asyncio.to_thread(group.restart_as_replica, old_primary)
            while (
                outcome.first_ok_after_kill is None
                or time.monotonic() - outcome.first_ok_after_kill < after_s
            ):
                await asyncio.sleep(0.05)
                if any(t.done() for t in tasks):
                    break
            stop.set()
            await asyncio.gather(*tasks)
            await _count_lost(stub, outcome)
    finally:
        await app.stop(0)
    return outcome
