"""Lua script calls to a single Redis over one connection, the calls of one event-loop tick in one write."""

from __future__ import annotations

import asyncio
import hashlib
import math
from collections import deque
from collections.abc import Sequence

import hiredis
from redis._parsers.base import BaseParser
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import DataError, NoScriptError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from svckit import deadline

Word = str | bytes | int | float

_RETRIES = 3  # as many as svckit.redis_client.connect's Retry, with its backoff
_BACKOFF_BASE_S, _BACKOFF_CAP_S = 0.02, 0.5
_CONNECT_TIMEOUT_S = 1.0


class PipedScript:
    """Called like redis-py's Script, `await script(keys=[...], args=[...])`, with its NOSCRIPT reload."""

    def __init__(self, pipe: ScriptPipe, text: str) -> None:
        self._pipe = pipe
        self.script = text.encode()
        self.sha = hashlib.sha1(self.script).hexdigest().encode()

    async def __call__(self, keys: Sequence[Word] = (), args: Sequence[Word] = ()) -> object:
        try:
            return await self._pipe.execute(b"EVALSHA", self.sha, len(keys), *keys, *args)
        except NoScriptError:  # after SCRIPT FLUSH or a restart
            await self._pipe.execute(b"SCRIPT", b"LOAD", self.script)
            return await self._pipe.execute(b"EVALSHA", self.sha, len(keys), *keys, *args)


class ScriptPipe:
    """One lazily opened connection that reconnects and resends after a drop, like redis-py's Retry.

    redis-py spends over 100 us of CPU per command (pool checkout, retry wrapper, timeout, a write per
    command); a call here costs a fifth of that, and the calls of one tick share a write. A resent script
    may run twice, so every script must be idempotent (ours are, by request id). Replies are bytes.

    A call, its retries and reconnects included, ends within `timeout_s` and the calling RPC's deadline
    (svckit.deadline); a connection that sends no reply for `timeout_s` is dropped and the calls on it
    resent on a new one while their time lasts.
    """

    def __init__(
        self,
        host: str,
        port: int,
        *,
        db: int = 0,
        username: str | None = None,
        password: str | None = None,
        timeout_s: float = 2.0,
    ) -> None:
        setup = []
        if password:
            setup.append(_pack((b"AUTH", *((username,) if username else ()), password)))
        if db:
            setup.append(_pack((b"SELECT", db)))
        self._host, self._port, self._setup = host, port, setup
        self._timeout_s = timeout_s
        self._connection: _Connection | None = None
        self._opening: asyncio.Task[_Connection] | None = None
        self._closed = False

    def register(self, text: str) -> PipedScript:
        return PipedScript(self, text)

    async def execute(self, *words: Word) -> object:
        """Sends one command and returns its reply; raises redis-py's errors."""
        command = _pack(words)
        loop = asyncio.get_running_loop()
        # No timer per call (one costs as much as the rest of the call): the connection's watchdog
        # fails each request whose deadline passes.
        due = loop.time() + deadline.budget_s(self._timeout_s)
        failures = 0
        while True:
            connection = self._connection
            try:
                if connection is None or connection.lost:
                    connection = await self._connect(due - loop.time())
                return await connection.request(command, due)
            except (RedisConnectionError, RedisTimeoutError):
                failures += 1
                left = due - loop.time()
                if failures > _RETRIES or self._closed or left <= 0:
                    raise
                await asyncio.sleep(min(_BACKOFF_CAP_S, _BACKOFF_BASE_S * 2**failures, left))

    async def aclose(self) -> None:
        self._closed = True
        if self._connection is not None:
            self._connection.close()

    async def _connect(self, left_s: float) -> _Connection:
        if self._closed:
            raise RedisConnectionError("the script pipe is closed")
        if self._opening is None:  # one connection attempt, however many calls wait for it
            self._opening = asyncio.ensure_future(self._open())
            self._opening.add_done_callback(self._opened)
        try:
            async with asyncio.timeout(max(left_s, 0)):  # only on a (re)connect, so the timer is rare
                return await asyncio.shield(self._opening)
        except TimeoutError as exc:
            raise RedisTimeoutError(f"Timeout connecting to {self._host}:{self._port}") from exc

    def _opened(self, task: asyncio.Task[_Connection]) -> None:
        self._opening = None
        if not task.cancelled() and task.exception() is None:
            self._connection = task.result()

    async def _open(self) -> _Connection:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(min(_CONNECT_TIMEOUT_S, self._timeout_s)):
                _, connection = await loop.create_connection(
                    lambda: _Connection(loop, self._timeout_s), self._host, self._port
                )
        except OSError as exc:
            raise RedisConnectionError(f"Error connecting to {self._host}:{self._port}: {exc}") from exc
        except TimeoutError as exc:
            raise RedisTimeoutError(f"Timeout connecting to {self._host}:{self._port}") from exc
        try:
            for command in self._setup:
                await connection.request(command, loop.time() + self._timeout_s)
        except BaseException:
            connection.close()
            raise
        return connection


class _Connection(asyncio.Protocol):
    """Requests queue their futures in order; replies arrive in the same order and resolve them.

    One watchdog timer serves every request: it fails each request whose deadline has passed, and the
    whole connection once Redis has sent no reply at all for `reply_timeout_s` (it hangs).
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, reply_timeout_s: float) -> None:
        self._loop = loop
        self._reply_timeout_s = reply_timeout_s
        self._reader = hiredis.Reader(replyError=ResponseError)
        self._transport: asyncio.Transport | None = None
        self._waiting: deque[tuple[asyncio.Future, float]] = deque()  # (future, loop time it is due)
        self._unsent: list[bytes] = []
        self._progress_at = 0.0  # loop time of the last reply, or of a request sent to an idle connection
        self._watchdog: asyncio.TimerHandle | None = None
        self._watchdog_at = math.inf
        self.lost = False

    def request(self, command: bytes, due: float) -> asyncio.Future:
        if self.lost:
            raise RedisConnectionError("Connection to Redis lost")
        future = self._loop.create_future()
        if not self._waiting:
            self._progress_at = self._loop.time()
        self._waiting.append((future, due))
        if not self._unsent:  # the first call of this tick schedules the write for all of them
            self._loop.call_soon(self._flush)
        self._unsent.append(command)
        if due < self._watchdog_at:
            self._arm(due)
        return future

    def _flush(self) -> None:
        if not self.lost and self._unsent:
            assert self._transport is not None
            self._transport.write(b"".join(self._unsent))
        self._unsent.clear()

    def _arm(self, at: float) -> None:
        if self._watchdog is not None:
            self._watchdog.cancel()
        self._watchdog_at = at
        self._watchdog = self._loop.call_at(at, self._check)

    def _check(self) -> None:
        self._watchdog, self._watchdog_at = None, math.inf
        if not self._waiting:
            return
        now = self._loop.time()
        if now - self._progress_at >= self._reply_timeout_s:  # Redis answers in order: it hangs
            self._fail(RedisTimeoutError(f"Redis sent no reply for {self._reply_timeout_s} s"))
            return
        next_at = self._progress_at + self._reply_timeout_s
        for future, due in self._waiting:
            if future.done():
                continue
            if due <= now:  # its reply may still come; data_received skips it then
                future.set_exception(RedisTimeoutError("Redis did not answer within the call's deadline"))
            else:
                next_at = min(next_at, due)
        self._arm(next_at)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self._reader.feed(data)
        try:
            while (reply := self._reader.gets()) is not False:
                future, _ = self._waiting.popleft()
                if future.done():  # its caller was cancelled or ran out of time
                    continue
                if isinstance(reply, ResponseError):
                    future.set_exception(_error(str(reply)))
                else:
                    future.set_result(reply)
        except hiredis.ProtocolError as exc:
            self._fail(RedisConnectionError(f"Redis protocol error: {exc}"))
            return
        self._progress_at = self._loop.time()

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail(RedisConnectionError(f"Connection to Redis lost: {exc or 'closed by the server'}"))

    def close(self) -> None:
        self._fail(RedisConnectionError("Connection to Redis closed"))

    def _fail(self, error: Exception) -> None:
        """Every request still waiting fails with `error`; the pipe resends them on a new connection."""
        self.lost = True
        if self._watchdog is not None:
            self._watchdog.cancel()
            self._watchdog, self._watchdog_at = None, math.inf
        if self._transport is not None:
            self._transport.abort()
        self._unsent.clear()
        while self._waiting:
            future, _ = self._waiting.popleft()
            if not future.done():
                future.set_exception(error)


def _error(message: str) -> Exception:
    """The exception redis-py raises for this error reply: LOADING is a ConnectionError (so retried),
    NOSCRIPT, READONLY, MASTERDOWN... have their own classes."""
    return BaseParser.parse_error(message)


def _pack(words: Sequence[Word]) -> bytes:
    """A command in RESP: an array of bulk strings."""
    out = [b"*%d\r\n" % len(words)]
    for word in words:
        if isinstance(word, bytes):
            data = word
        elif isinstance(word, str):
            data = word.encode()
        elif isinstance(word, int | float) and not isinstance(word, bool):
            data = repr(word).encode()
        else:
            raise DataError(f"Invalid input of type {type(word).__name__!r} in a script call")
        out.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(out)
