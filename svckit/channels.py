"""Client channels to peer services, with gRPC's built-in retry policy for transient failures."""

from __future__ import annotations

import json

import grpc

from svckit import deadline

# Every mutating RPC carries a request_id, so a retried call is safe to repeat.
_SERVICE_CONFIG = json.dumps(
    {
        "methodConfig": [
            {
                "name": [{}],
                "retryPolicy": {
                    "maxAttempts": 4,
                    "initialBackoff": "0.05s",
                    "maxBackoff": "1s",
                    "backoffMultiplier": 2,
                    "retryableStatusCodes": ["UNAVAILABLE"],
                },
            }
        ]
    }
)


class _PropagateDeadline(grpc.aio.UnaryUnaryClientInterceptor):
    """A call made while serving an RPC ends by that RPC's deadline (its retries included), so the
    caller gets this service's UNAVAILABLE answer, not its own DEADLINE_EXCEEDED."""

    async def intercept_unary_unary(self, continuation, client_call_details, request):
        left = deadline.remaining_s()
        timeout = client_call_details.timeout
        if left is not None and (timeout is None or timeout > left):
            client_call_details = client_call_details._replace(timeout=max(left, 0.001))
        return await continuation(client_call_details, request)


def peer_channel(addr: str) -> grpc.aio.Channel:
    return grpc.aio.insecure_channel(
        addr,
        options=[("grpc.service_config", _SERVICE_CONFIG), ("grpc.enable_retries", 1)],
        interceptors=[_PropagateDeadline()],
    )
