"""A redis-py write racing a disconnect is UNAVAILABLE (retry), not INTERNAL; our own bugs stay INTERNAL."""

from __future__ import annotations

import pytest
from redis.asyncio import Connection

from svckit.redis_client import backend_unavailable


async def test_a_write_on_a_connection_closed_underneath_counts_as_backend_unavailable():
    connection = Connection()  # never connected: its writer is None, as after a concurrent disconnect
    with pytest.raises(AttributeError) as caught:
        await connection._send_packed_command([b"*1\r\n$4\r\nPING\r\n"])
    assert backend_unavailable(caught.value)


def test_an_attribute_error_raised_in_our_own_code_is_not_taken_for_one():
    with pytest.raises(AttributeError) as caught:
        None.writelines([])  # type: ignore[attr-defined]
    assert not backend_unavailable(caught.value)
