"""gRPC health probe for container HEALTHCHECKs and `make run`: exit 0 only when the server is SERVING."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from svckit.config import CommonSettings
from svckit.tls import channel_credentials

TIMEOUT_S = 2.0


def health_status(addr: str, *, timeout_s: float = TIMEOUT_S, service: str = "") -> str:
    """The status name `addr` reports ("SERVING", "NOT_SERVING", ...), or the gRPC code if the call fails.

    Over mTLS when TLS_CA_FILE is set: health needs no role, but the handshake needs a client certificate.
    """
    credentials = channel_credentials(CommonSettings())
    secure = credentials is not None
    with grpc.secure_channel(addr, credentials) if secure else grpc.insecure_channel(addr) as channel:
        try:
            reply = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=service), timeout=timeout_s
            )
        except grpc.RpcError as exc:
            return exc.code().name
    return health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)


def default_addrs() -> list[str]:
    """`HEALTH_ADDR`, else every service port on localhost (a container runs one, so one answers)."""
    if addr := os.environ.get("HEALTH_ADDR"):
        return [addr]
    settings = CommonSettings()
    return [f"localhost:{p}" for p in (settings.pricing_port, settings.balance_port, settings.payment_port)]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.healthprobe", description=__doc__)
    parser.add_argument("addr", nargs="?", help="host:port; default $HEALTH_ADDR or the service ports")
    parser.add_argument("--service", default="", help="service name to ask about; '' is the whole server")
    parser.add_argument("--timeout", type=float, default=TIMEOUT_S, help="seconds per check")
    args = parser.parse_args(argv)
    addrs = [args.addr] if args.addr else default_addrs()
    statuses = {addr: health_status(addr, timeout_s=args.timeout, service=args.service) for addr in addrs}
    print(", ".join(f"{addr} {status}" for addr, status in statuses.items()))
    return 0 if "SERVING" in statuses.values() else 1


if __name__ == "__main__":
    sys.exit(main())
