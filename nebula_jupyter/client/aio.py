"""The asyncio client: the same methods as :class:`~.sync.NebulaClient`, as coroutines.

A thin driver over ``calls.py`` and ``follow.py``: httpx's AsyncClient for REST, websockets'
asyncio client for the stream.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, TypeVar, Unpack

import httpx

from ..protocol import TERMINAL_STATUSES, RunRecord, StatusMessage
from . import calls
from .arguments import checked
from .base import KEEPALIVE_OPTIONS, ClientBase
from .calls import Call, Command, Pager, RunOptions
from .sync import deadline_after

if TYPE_CHECKING:
    from websockets.asyncio.client import ClientConnection

    from .follow import Connect, Event, FollowSession, Receive, Sleep

T = TypeVar("T")


class AsyncNebulaClient(ClientBase):
    """Asyncio client of one nebula server; every method raises :class:`NebulaError`."""

    @checked
    async def create(self, command: Command, **options: Unpack[RunOptions]) -> RunRecord:
        """Start a run (a list runs directly, a string through /bin/sh) and return its record.

        ``options``: ``name``, ``cwd`` (relative to the server's root), ``env``.
        """
        return await self._send(calls.create_run(command, **options))

    @checked
    async def get(self, run_id: str) -> RunRecord:
        """Return the current record of a run."""
        return await self._send(calls.get_run(run_id))

    @checked
    async def list(self, status: str | None = None, limit: int | None = 100) -> list[RunRecord]:
        """Return the newest ``limit`` records (None: all), optionally only those in ``status``."""
        return [record async for record in self.iter_runs(status, limit)]

    @checked
    async def iter_runs(
        self, status: str | None = None, limit: int | None = None
    ) -> AsyncIterator[RunRecord]:
        """Yield records newest first, a page at a time, up to ``limit`` (None: every run)."""
        pager = Pager(status, limit)
        while (call := pager.next_call()) is not None:
            for record in pager.take(await self._send(call)):
                yield record

    @checked
    async def cancel(self, run_id: str) -> RunRecord:
        """Ask the server to cancel a run; raise Conflict if it already ended."""
        return await self._send(calls.cancel_run(run_id))

    @checked
    async def delete(self, run_id: str) -> None:
        """Forget a finished run and its logs; raise Conflict if it is still active."""
        await self._send(calls.delete_run(run_id))

    @checked
    async def logs(self, run_id: str, stream: str | None = None) -> bytes:
        """Return the exact bytes a run wrote so far (both streams in the order read, or one)."""
        return await self._send(calls.run_logs(run_id, stream))

    @checked
    async def stream_logs(
        self, run_id: str, stream: str | None = None, *, follow: bool = False
    ) -> AsyncIterator[bytes]:
        """Yield a run's log bytes as they arrive; with ``follow``, until the run ends."""
        call = calls.run_logs(run_id, stream, follow=follow)
        try:
            async with (
                self._client() as http,
                http.stream(
                    **self._request(call), timeout=self._stream_timeout(follow)
                ) as response,
            ):
                if response.status_code != 200:
                    call.parse(response.status_code, await response.aread())
                async for block in response.aiter_raw():
                    yield block
        except httpx.HTTPError as exc:
            raise self._unreachable(exc) from exc

    @checked
    async def follow(self, run_id: str, after: int = 0) -> AsyncIterator[Event]:
        """Yield output and status events until the terminal status, surviving reconnects."""
        from .follow import FollowSession

        session = FollowSession(self.address, run_id, after=after, **self._follow_options())
        async for event in _follow(session, None):
            yield event

    @checked
    async def wait(self, run_id: str, timeout: float | None = None) -> RunRecord:  # noqa: ASYNC109 (mirrors NebulaClient.wait)
        """Wait until the run ends and return its final record; raise TimeoutError."""
        from .follow import FollowSession

        deadline = deadline_after(timeout)
        record = await self.get(run_id)
        if record["status"] in TERMINAL_STATUSES:
            return record
        session = FollowSession(
            self.address, run_id, after=record["last_seq"], **self._follow_options()
        )
        async for event in _follow(session, deadline):
            if isinstance(event, StatusMessage) and event.terminal:
                return event.run
        return await self.get(run_id)

    def _client(self) -> httpx.AsyncClient:
        # One client per call: an AsyncClient belongs to the loop it was made on, and callers
        # may use this object from several loops (asyncio.run in a script, a kernel's loop).
        transport = httpx.AsyncHTTPTransport(socket_options=KEEPALIVE_OPTIONS)
        return httpx.AsyncClient(transport=transport, **self._http_options())

    async def _send(self, call: Call[T]) -> T:
        try:
            async with self._client() as http:
                response = await http.request(**self._request(call))
        except httpx.HTTPError as exc:
            raise self._unreachable(exc) from exc
        return call.parse(response.status_code, response.content)


async def _follow(session: FollowSession, deadline: float | None) -> AsyncIterator[Event]:
    """Do the asyncio I/O a :class:`~.follow.FollowSession` asks for; yield its events."""
    from .follow import Connect, Receive, Sleep

    socket = _AsyncSocket()
    reply: object = None
    try:
        while (step := session.next_step(reply, deadline)) is not None:
            if isinstance(step, Connect | Receive | Sleep):
                reply = await socket.perform(step)
            else:
                reply = None
                yield step
    finally:
        await socket.close()


class _AsyncSocket:
    """The stream's connection in asyncio: performs one follow step at a time."""

    connection: ClientConnection | None = None

    async def perform(self, step: Connect | Receive | Sleep) -> object:
        """Do ``step``; return what the session expects back (a frame, an exception, None)."""
        from websockets.asyncio.client import connect
        from websockets.exceptions import ConnectionClosed

        from .follow import CONNECT_ERRORS, Receive, Sleep

        if isinstance(step, Receive):
            assert self.connection is not None
            try:
                return await asyncio.wait_for(self.connection.recv(), step.timeout_seconds)
            except (TimeoutError, ConnectionClosed) as exc:
                return exc
        if isinstance(step, Sleep):
            await self.close()
            await asyncio.sleep(step.seconds)
            return None
        try:
            self.connection = await connect(step.url, **step.options)
        except CONNECT_ERRORS as exc:
            return exc
        return None

    async def close(self) -> None:
        """Close the connection, if one is open."""
        if self.connection is not None:
            await self.connection.close()
            self.connection = None
