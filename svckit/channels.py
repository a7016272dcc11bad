"""Client channels to peer services: mTLS credentials and gRPC's retry policy for transient failures."""

from __future__ import annotations

import json

import grpc

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


def peer_channel(addr: str, credentials: grpc.ChannelCredentials | None = None) -> grpc.aio.Channel:
    """Plaintext only without credentials, which svckit.tls.channel_credentials gives in dev mode alone."""
    options = [("grpc.service_config", _SERVICE_CONFIG), ("grpc.enable_retries", 1)]
    if credentials is None:
        return grpc.aio.insecure_channel(addr, options=options)
    return grpc.aio.secure_channel(addr, credentials, options=options)
