"""The one place a client channel is built: address, retry policy and (once issue 13 lands) TLS."""

from __future__ import annotations

import json

import grpc

from svckit.rpc_metrics import ClientMetricsInterceptor

# gRPC itself re-sends a call answered UNAVAILABLE (or never sent), within the call's deadline. Every
# mutation carries its request_id, so a re-sent mutation is applied at most once by the server.
RETRY_POLICY = {
    "maxAttempts": 4,
    "initialBackoff": "0.05s",
    "maxBackoff": "1s",
    "backoffMultiplier": 2,
    "retryableStatusCodes": ["UNAVAILABLE"],
}
_SERVICE_CONFIG = json.dumps({"methodConfig": [{"name": [{}], "retryPolicy": RETRY_POLICY}]})


def open_channel(addr: str) -> grpc.aio.Channel:
    """A channel to `addr` (host:port) with the retry policy and the grpc_client_* metrics; plaintext
    until TLS material exists."""
    return grpc.aio.insecure_channel(
        addr,
        options=[("grpc.service_config", _SERVICE_CONFIG), ("grpc.enable_retries", 1)],
        interceptors=[ClientMetricsInterceptor()],
    )
