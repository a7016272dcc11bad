"""Empty-handler baseline: a bare grpc.aio server (no interceptor, no Redis); its Debit returns a constant.

It binds like the services (`svckit.tls.bind` from the TLS_* environment, as balance_svc with its
certificate, client certificates required), so the ratios compare like transport with like.
"""

from __future__ import annotations

import argparse
import asyncio
import signal

import grpc
from balance.v1 import balance_service_pb2 as bpb
from balance.v1 import balance_service_pb2_grpc as bgrpc
from grpc_health.v1 import health, health_pb2_grpc

from svckit import tls
from svckit.config import CommonSettings

# Filled like a real answer so serialization costs what a real DebitResponse costs.
_RESPONSE = bpb.DebitResponse(
    transaction=bpb.Transaction(
        transaction_id="tx_0000000000000001",
        account_id="bench-0000000",
        type=bpb.TRANSACTION_TYPE_DEBIT,
        reason=bpb.TRANSACTION_REASON_PURCHASE,
        amount_minor=1,
        currency="USD",
        balance_after_minor=99_999_999,
        request_id="lg-0123456789-1",
    ),
    balance=bpb.Balance(
        account_id="bench-0000000", currency="USD", balance_minor=99_999_999, available_minor=99_999_999
    ),
)
_RESPONSE.transaction.create_time.FromMilliseconds(1_800_000_000_000)


class EmptyBalance(bgrpc.BalanceServiceServicer):
    async def Debit(self, request, context):
        return _RESPONSE


async def serve(host: str, port: int) -> None:
    server = grpc.aio.server()
    bgrpc.add_BalanceServiceServicer_to_server(EmptyBalance(), server)
    health_pb2_grpc.add_HealthServicer_to_server(health.aio.HealthServicer(), server)  # readiness only
    tls.bind(server, f"{host}:{port}", CommonSettings(), "balance")
    await server.start()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    await stop.wait()
    await server.stop(0)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.empty_server", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    asyncio.run(serve(args.host, args.port))


if __name__ == "__main__":
    main()
