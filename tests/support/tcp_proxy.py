"""A TCP proxy in the test's event loop that can cut every connection through it, for real.

Agents dial the server through it; ``cut()`` aborts both sockets of every open connection,
as a flaky network or a restarted load balancer would.
"""

from __future__ import annotations

import asyncio
import contextlib


class TcpProxy:
    """Forward ``listen_port`` on 127.0.0.1 to ``target_port``; count and cut connections."""

    def __init__(self, listen_port: int, target_port: int) -> None:
        self.listen_port = listen_port
        self.target_port = target_port
        self.connections = 0
        self._open: set[asyncio.StreamWriter] = set()
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.listen_port)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            target_reader, target_writer = await asyncio.open_connection(
                "127.0.0.1", self.target_port
            )
        except OSError:
            writer.close()
            return
        self.connections += 1
        self._open |= {writer, target_writer}
        for source, sink in ((reader, target_writer), (target_reader, writer)):
            task = asyncio.get_running_loop().create_task(self._pipe(source, sink))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _pipe(self, source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        try:
            while data := await source.read(65536):
                sink.write(data)
                await sink.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            self._open.discard(sink)
            sink.close()

    def cut(self) -> int:
        """Abort every open connection (both ends); return how many sockets were cut."""
        cut = list(self._open)
        for writer in cut:
            with contextlib.suppress(Exception):
                writer.transport.abort()
        self._open.clear()
        return len(cut)

    async def go_down(self) -> None:
        """Stop listening and cut every connection, as an unreachable server would look."""
        self.cut()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    def close(self) -> None:
        """Stop listening and drop every connection."""
        self.cut()
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
