"""The one place a client channel is built: address, retry policy and mutual TLS."""

from __future__ import annotations

import json

import grpc

from svckit import deadline, tracing
from svckit.config import CommonSettings
from svckit.rpc_metrics import ClientMetricsInterceptor
from svckit.tls import channel_credentials

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


class _PropagateDeadline(grpc.aio.UnaryUnaryClientInterceptor):
    """A call made while serving an RPC ends by that RPC's deadline (its retries included), so the
    caller gets the serving service's UNAVAILABLE answer, not its own DEADLINE_EXCEEDED."""

    async def intercept_unary_unary(self, continuation, client_call_details, request):
        left = deadline.remaining_s()
        timeout = client_call_details.timeout
        if left is not None and (timeout is None or timeout > left):
            client_call_details = client_call_details._replace(timeout=max(left, 0.001))
        return await continuation(client_call_details, request)


def open_channel(addr: str, credentials: grpc.ChannelCredentials | None = None) -> grpc.aio.Channel:
    """A channel to `addr` (host:port) with the retry policy, the grpc_client_* metrics and, inside a
    service's RPC, that RPC's deadline.

    Without `credentials` it is configured from the environment: mTLS presenting TLS_CLIENT_CERT_FILE (else
    TLS_CERT_FILE) when TLS_CA_FILE is set, plaintext otherwise (for PLAINTEXT_DEV_MODE stacks).
    """
    options = [("grpc.service_config", _SERVICE_CONFIG), ("grpc.enable_retries", 1)]
    interceptors = [*tracing.client_interceptors(), ClientMetricsInterceptor(), _PropagateDeadline()]
    credentials = credentials or channel_credentials(CommonSettings())
    if credentials is None:
        return grpc.aio.insecure_channel(addr, options=options, interceptors=interceptors)
    return grpc.aio.secure_channel(addr, credentials, options=options, interceptors=interceptors)
