"""Client channels to peer services, with gRPC's built-in retry policy for transient failures."""

from __future__ import annotations

import json

import grpc

from svckit.rpc_metrics import ClientMetricsInterceptor

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


def peer_channel(addr: str) -> grpc.aio.Channel:
    return grpc.aio.insecure_channel(
        addr,
        options=[("grpc.service_config", _SERVICE_CONFIG), ("grpc.enable_retries", 1)],
        interceptors=[ClientMetricsInterceptor()],
    )
