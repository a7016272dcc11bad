"""Bytes that are not the method's request message give INVALID_ARGUMENT with ErrorInfo, never UNKNOWN."""

from __future__ import annotations

import logging

import grpc
import pytest
from google.protobuf import descriptor_pool
from google.protobuf.empty_pb2 import Empty

from svckit import ops
from tests.hardening.support import SERVICES, Call, invoke, reason, settings_for

GARBAGE = (
    b"\xff\xff\xff\xff",  # a tag that never ends
    b"\x0a\xff\x01",  # a string field longer than the message
    b"\x08" + b"\x80" * 11,  # a varint longer than 64 bits
)


def every_method(service: str) -> list[str]:
    """Full paths of the service's methods, OpsService's and health's Check."""
    names = (SERVICES[service][3], ops.SERVICE_NAME)
    pool = descriptor_pool.Default()
    paths = [f"/{name}/{m.name}" for name in names for m in pool.FindServiceByName(name).methods]
    return [*paths, "/grpc.health.v1.Health/Check"]


@pytest.mark.parametrize("service", SERVICES)
async def test_undecodable_bytes_are_invalid_argument_on_every_method(
    service, single_redis, start_server, channel_to, caplog
):
    channel = channel_to(await start_server(SERVICES[service][0], settings_for(service, single_redis)))
    caplog.clear()  # the plaintext dev mode's warning at start is not about these calls
    caplog.set_level(logging.INFO)
    for method in every_method(service):
        for garbage in GARBAGE:
            # admin=True: an admin method checks the token first, then finds the bytes undecodable.
            result = await invoke(channel, Call(method, Empty(), admin=True), raw=garbage)
            assert isinstance(result, grpc.aio.AioRpcError), (method, garbage)
            assert (result.code(), reason(result)) == (
                grpc.StatusCode.INVALID_ARGUMENT,
                "REQUEST_UNDECODABLE",
            ), (method, garbage)
    assert [r.getMessage() for r in caplog.records if r.levelno > logging.INFO] == []
