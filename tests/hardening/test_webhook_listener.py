"""The webhook listener cuts off slow senders and caps its connections (real sockets, byte by byte)."""

from __future__ import annotations

import asyncio

import pytest

from payment_svc.server import PaymentApp, build
from tests.hardening.support import settings_for

PATH = "/webhooks/stripe"
RESET = b"<reset>"
HEAD = f"POST {PATH} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n".encode()


@pytest.fixture
async def listener(single_redis):
    started: list[PaymentApp] = []

    async def _start(**overrides) -> int:
        parts = await build(settings_for("payment", single_redis, **overrides))
        await parts.app.start()
        started.append(parts)
        return parts.webhook.port

    yield _start
    for parts in started:
        await parts.app.stop(0)


async def _dribble(port: int, data: bytes, *, at_once: bytes = b"", gap_s: float = 0.05) -> tuple[int, bytes]:
    """Sends `at_once`, then `data` one byte per `gap_s` until the server hangs up; returns
    (bytes of `data` sent, the reply)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(at_once)
    reply = asyncio.ensure_future(reader.read())  # ends when the server closes the connection
    sent = 0
    try:
        for byte in data:
            if reply.done():
                break
            writer.write(bytes([byte]))
            await writer.drain()
            sent += 1
            await asyncio.sleep(gap_s)
    except ConnectionError:
        pass
    try:
        return sent, await asyncio.wait_for(reply, 10)
    except ConnectionResetError:  # closed with our unread bytes in its buffer: the kernel sends RST
        return sent, RESET
    finally:
        writer.close()


async def test_a_sender_dribbling_its_headers_is_cut_off(listener):
    port = await listener(webhook_header_timeout_s=0.5)
    endless_head = HEAD + b"X-Padding: " + b"a" * 400  # 20 s at this pace, never finished
    sent, reply = await _dribble(port, endless_head)
    assert sent < len(endless_head)
    assert reply in (b"", RESET)  # closed without an answer


async def test_a_sender_dribbling_its_body_is_cut_off_with_408(listener):
    port = await listener(webhook_body_timeout_s=0.5)
    body = b"{" + b" " * 400 + b"}"
    head = HEAD + f"Content-Length: {len(body)}\r\n\r\n".encode()
    sent, reply = await _dribble(port, body, at_once=head)
    assert sent < len(body)
    # The 408 is sent, but a reset (the server closing on bytes it did not read) can overtake it.
    assert reply.startswith(b"HTTP/1.1 408") or reply == RESET


async def _post(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bytes:
    """One unsigned POST on a kept-alive connection; returns the status line."""
    writer.write(HEAD + b"Content-Length: 2\r\n\r\n{}")
    await writer.drain()
    status = await reader.readline()
    headers = {}
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode().partition(":")
        headers[name.strip().lower()] = value.strip()
    await reader.readexactly(int(headers.get("content-length", "0")))
    return status


async def test_connections_past_the_cap_are_answered_503(listener):
    port = await listener(webhook_max_connections=2)
    held = [await asyncio.open_connection("127.0.0.1", port) for _ in range(2)]
    for reader, writer in held:  # answered, so the server holds them open now (keep-alive)
        assert (await _post(reader, writer)).startswith(b"HTTP/1.1 400")
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    assert (await reader.read()).startswith(b"HTTP/1.1 503")
    writer.close()

    held[0][1].close()
    await held[0][1].wait_closed()
    for _ in range(100):  # the server notices the close on its next loop turns
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        status = await _post(reader, writer)
        writer.close()
        if not status.startswith(b"HTTP/1.1 503"):
            break
        await asyncio.sleep(0.05)
    assert status.startswith(b"HTTP/1.1 400")
    held[1][1].close()


async def test_events_wait_with_503_while_a_data_loss_is_unacknowledged(single_redis):
    parts = await build(settings_for("payment", single_redis))
    await parts.app.start()
    try:
        parts.app.data_guard.report_loss("EPOCH_MISSING", "test")
        reader, writer = await asyncio.open_connection("127.0.0.1", parts.webhook.port)
        assert (await _post(reader, writer)).startswith(b"HTTP/1.1 503")  # Stripe retries later
        writer.close()
    finally:
        await parts.app.stop(0)
