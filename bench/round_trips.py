"""Counts the Redis commands balance_svc sends per RPC (MONITOR), and captures Debit's exact EVALSHA.

Only the RPC's commands count: the data guard's health probe (one HGETALL of `<service>:data-epoch`
every HEALTH_PROBE_INTERVAL_S, from the same process) runs on its own clock and is left out.
"""

from __future__ import annotations

import grpc
from balance.v1 import balance_service_pb2 as bpb
from balance.v1 import balance_service_pb2_grpc as bgrpc

from bench import cases
from bench.capture import Command, from_ports, monitor_while, per_call, script_call
from bench.pki import Pki
from bench.procfs import local_tcp_ports
from bench.seed import Unavailable, call, credit, describe, new_request_id

DATA_GUARD_KEY_SUFFIX = ":data-epoch"  # svckit.data_guard.DataGuard's key, `<service>:data-epoch`


def is_health_probe(command: Command) -> bool:
    """The data guard's probe: a top-level read of the epoch hash (HGETALL), never part of an RPC."""
    return (
        not command.from_script
        and command.name == "HGETALL"
        and len(command.args) == 2
        and command.args[1].endswith(DATA_GUARD_KEY_SUFFIX)
    )


def capture(addr: str, pid: int, redis_url: str, pki: Pki, calls: int = 5) -> tuple[dict, dict | None]:
    """Commands balance_svc (process `pid`) sends per Debit, Credit, GetBalance, CreateHold and
    CaptureHold, and Debit's exact EVALSHA; each RPC as the identity the policy lets call it."""
    found: dict[str, dict] = {}
    debit_spec = None
    with pki.channel(addr, "storefront") as channel, pki.channel(addr, "payment") as payment_channel:
        stub = bgrpc.BalanceServiceStub(channel)
        payment = bgrpc.BalanceServiceStub(payment_channel)
        account = cases.HOT_ACCOUNT
        rids: list[str] = []

        def debit() -> None:
            for _ in range(calls):
                rids.append(new_request_id("debit"))
                request = bpb.DebitRequest(
                    account_id=account,
                    amount_minor=1,
                    currency=cases.CURRENCY,
                    reason=bpb.TRANSACTION_REASON_PURCHASE,
                    request_id=rids[-1],
                )
                call(stub.Debit, request)

        holds: list[str] = []

        def hold() -> None:
            for _ in range(calls):
                request = bpb.CreateHoldRequest(
                    account_id=account, amount_minor=1, timeout_ms=60_000, request_id=new_request_id("hold")
                )
                holds.append(call(stub.CreateHold, request).hold.hold_id)

        def capture() -> None:
            for _ in range(calls):
                request = bpb.CaptureHoldRequest(
                    account_id=account,
                    hold_id=holds.pop(),
                    amount_minor=1,
                    reason=bpb.TRANSACTION_REASON_PURCHASE,
                    request_id=new_request_id("capture"),
                )
                call(stub.CaptureHold, request)

        actions = {
            "Debit": debit,
            "Credit": lambda: [credit(payment, account, 1) for _ in range(calls)],
            "GetBalance": lambda: [
                call(stub.GetBalance, bpb.GetBalanceRequest(account_id=account)) for _ in range(calls)
            ],
            "CreateHold": hold,
            "CaptureHold": capture,
        }
        for name, action in actions.items():
            try:
                action()  # unwatched first: the first call after a start also loads the script
                seen = from_ports(monitor_while(redis_url, action), local_tcp_ports(pid))
                commands = [c for c in seen if not is_health_probe(c)]
            except (Unavailable, grpc.RpcError) as exc:
                found[name] = {"unavailable": str(exc) if isinstance(exc, Unavailable) else describe(exc)}
                continue
            found[name] = per_call(commands, calls)
            if name == "Debit" and (evalsha := script_call(commands)) is not None:
                debit_spec = {"evalsha": list(evalsha.args), "account": account, "request_id": rids[-1]}
    return found, debit_spec
