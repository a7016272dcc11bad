"""A TCP proxy in front of a peer service, to cut it off or hold its requests mid-flight in tests."""

from __future__ import annotations

import asyncio
import contextlib


class TcpProxy:
    """Forwards 127.0.0.1:<port> to a target port until told to refuse, or to hold what clients send."""

    def __init__(self, target_port: int) -> None:
        self._target_port = target_port
        self._open = asyncio.Event()
        self._open.set()
        self._refusing = False
        self._holding = asyncio.Event()  # set once something was held back
        self._writers: set[asyncio.StreamWriter] = set()
        self._server: asyncio.Server | None = None
        self.held_bytes = 0
        self.port = 0

    async def start(self) -> str:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return f"127.0.0.1:{self.port}"

    async def stop(self) -> None:
        self.refuse()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    def refuse(self) -> None:
        """The peer looks down: open connections drop, new ones are closed at once."""
        self._refusing = True
        for writer in list(self._writers):
            writer.close()

    def allow(self) -> None:
        self._refusing = False

    def hold(self) -> None:
        """Bytes from clients are kept back (counted in held_bytes) until release()."""
        self.held_bytes = 0
        self._holding.clear()
        self._open.clear()

    def release(self) -> None:
        self._open.set()

    async def wait_held(self, timeout_s: float = 10.0) -> None:
        await asyncio.wait_for(self._holding.wait(), timeout_s)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._refusing:
            writer.close()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self._target_port)
        except OSError:
            writer.close()
            return
        self._writers |= {writer, up_writer}
        await asyncio.gather(
            self._pump(reader, up_writer, gated=True),
            self._pump(up_reader, writer, gated=False),
            return_exceptions=True,
        )
        self._writers -= {writer, up_writer}

    async def _pump(self, source: asyncio.StreamReader, sink: asyncio.StreamWriter, *, gated: bool) -> None:
        try:
            while data := await source.read(65536):
                if gated and not self._open.is_set():
                    self.held_bytes += len(data)
                    self._holding.set()
                    await self._open.wait()
                sink.write(data)
                await sink.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            with contextlib.suppress(Exception):
                sink.close()
