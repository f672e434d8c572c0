"""The blocking client: safe to call from a notebook cell, where an event loop already runs.

A thin driver: every request is built and parsed by ``calls.py``, the stream is followed by
``follow.py``'s session; this module only does the blocking I/O (httpx, websockets.sync).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, TypeVar, Unpack

import httpx

from ..protocol import MAX_STDIN_CHARS, TERMINAL_STATUSES, RunRecord, StatusMessage
from . import calls
from .arguments import checked
from .base import KEEPALIVE_OPTIONS, ClientBase
from .calls import Call, Command, Pager, RunOptions

if TYPE_CHECKING:
    from websockets.sync.client import ClientConnection

    # follow.py imports websockets, which a plain REST call never needs.
    from .follow import Connect, Event, FollowSession, Receive, Sleep

T = TypeVar("T")


def deadline_after(timeout: float | None) -> float | None:
    """Return the ``time.monotonic`` deadline ``timeout`` seconds from now (None: never)."""
    return None if timeout is None else time.monotonic() + timeout


class NebulaClient(ClientBase):
    """Blocking client of one nebula server; every method raises :class:`NebulaError`."""

    _http: httpx.Client | None = None

    @checked
    def create(self, command: Command, **options: Unpack[RunOptions]) -> RunRecord:
        """Start a run (a list runs directly, a string through /bin/sh) and return its record.

        ``options``: ``name``, ``cwd`` (relative to the server's root), ``env``.
        """
        return self._send(calls.create_run(command, **options))

    @checked
    def get(self, run_id: str) -> RunRecord:
        """Return the current record of a run."""
        return self._send(calls.get_run(run_id))

    @checked
    def list(self, status: str | None = None, limit: int | None = 100) -> list[RunRecord]:
        """Return the newest ``limit`` records (None: all), optionally only those in ``status``."""
        return list(self.iter_runs(status, limit))

    @checked
    def iter_runs(self, status: str | None = None, limit: int | None = None) -> Iterator[RunRecord]:
        """Yield records newest first, a page at a time, up to ``limit`` (None: every run)."""
        pager = Pager(status, limit)
        while (call := pager.next_call()) is not None:
            yield from pager.take(self._send(call))

    @checked
    def cancel(self, run_id: str) -> RunRecord:
        """Ask the server to cancel a run; raise Conflict if it already ended."""
        return self._send(calls.cancel_run(run_id))

    @checked
    def delete(self, run_id: str) -> None:
        """Forget a finished run and its logs; raise Conflict if it is still active."""
        self._send(calls.delete_run(run_id))

    @checked
    def logs(self, run_id: str, stream: str | None = None) -> bytes:
        """Return the exact bytes a run wrote so far (both streams in the order read, or one)."""
        return self._send(calls.run_logs(run_id, stream))

    @checked
    def stream_logs(
        self, run_id: str, stream: str | None = None, *, follow: bool = False
    ) -> Iterator[bytes]:
        """Yield a run's log bytes as they arrive; with ``follow``, until the run ends."""
        call = calls.run_logs(run_id, stream, follow=follow)
        try:
            with self._client().stream(
                **self._request(call), timeout=self._stream_timeout(follow)
            ) as response:
                if response.status_code != 200:
                    call.parse(response.status_code, response.read())
                yield from response.iter_raw()
        except httpx.HTTPError as exc:
            raise self._unreachable(exc) from exc

    @checked
    def follow(
        self, run_id: str, after: int = 0, *, link: TerminalLink | None = None
    ) -> Iterator[Event]:
        """Yield output and status events until the terminal status, surviving reconnects.

        With a :class:`TerminalLink`, another thread may type into the run and resize its
        terminal over the same connection while this follows it (terminal mode).
        """
        from .follow import FollowSession

        session = FollowSession(self.address, run_id, after=after, **self._follow_options())
        yield from _follow(session, None, link._socket if link is not None else None)

    @checked
    def wait(self, run_id: str, timeout: float | None = None) -> RunRecord:
        """Block until the run ends and return its final record; raise TimeoutError."""
        from .follow import FollowSession

        deadline = deadline_after(timeout)
        record = self.get(run_id)
        if record["status"] in TERMINAL_STATUSES:
            return record
        session = FollowSession(
            self.address, run_id, after=record["last_seq"], **self._follow_options()
        )
        for event in _follow(session, deadline):
            if isinstance(event, StatusMessage) and event.terminal:
                return event.run
        return self.get(run_id)

    def close(self) -> None:
        """Close the pooled HTTP connections (the client can still be used afterwards)."""
        if self._http is not None:
            self._http.close()
            self._http = None

    def _client(self) -> httpx.Client:
        if self._http is None:
            transport = httpx.HTTPTransport(socket_options=KEEPALIVE_OPTIONS)
            self._http = httpx.Client(transport=transport, **self._http_options())
        return self._http

    def _send(self, call: Call[T]) -> T:
        try:
            response = self._client().request(**self._request(call))
        except httpx.HTTPError as exc:
            raise self._unreachable(exc) from exc
        return call.parse(response.status_code, response.content)


def _follow(
    session: FollowSession, deadline: float | None, socket: _BlockingSocket | None = None
) -> Iterator[Event]:
    """Do the blocking I/O a :class:`~.follow.FollowSession` asks for; yield its events."""
    from .follow import Connect, Receive, Sleep

    socket = socket or _BlockingSocket()
    reply: object = None
    try:
        while (step := session.next_step(reply, deadline)) is not None:
            if isinstance(step, Connect | Receive | Sleep):
                reply = socket.perform(step)
            else:
                reply = None
                yield step
    finally:
        socket.close()


class _BlockingSocket:
    """The stream's connection in blocking I/O: performs one follow step at a time."""

    def __init__(self) -> None:
        self.connection: ClientConnection | None = None

    def perform(self, step: Connect | Receive | Sleep) -> object:
        """Do ``step``; return what the session expects back (a frame, an exception, None)."""
        from websockets.exceptions import ConnectionClosed
        from websockets.sync.client import connect

        from .follow import CONNECT_ERRORS, Connect, Receive

        if isinstance(step, Connect):
            try:
                self.connection = connect(step.url, **step.options)
            except CONNECT_ERRORS as exc:
                return exc
        elif isinstance(step, Receive):
            assert self.connection is not None
            try:
                return self.connection.recv(timeout=step.timeout_seconds)
            except (TimeoutError, ConnectionClosed) as exc:
                return exc
        else:
            self.close()
            time.sleep(step.seconds)
        return None

    def close(self) -> None:
        """Close the connection, if one is open."""
        if self.connection is not None:
            self.connection.close()
            self.connection = None

    def send(self, frame: str) -> bool:
        """Send one message from any thread; False while no connection is open."""
        from websockets.exceptions import ConnectionClosed

        connection = self.connection
        if connection is None:
            return False
        try:
            connection.send(frame)  # websockets' sync connections may send from any thread
        except ConnectionClosed:
            return False
        return True


class TerminalLink:
    """Type into a followed run and resize its terminal (CONTRACT §3 ``stdin``, ``resize``).

    Pass it to :meth:`NebulaClient.follow`; its methods may be called from another thread.
    They return False when no connection is open at that moment (a reconnect is under way),
    so the caller knows the input did not leave.
    """

    def __init__(self) -> None:
        self._socket = _BlockingSocket()

    def send_input(self, data: str) -> bool:
        """Send text as typed (a keystroke, a pasted line; ``"\x03"`` is Ctrl-C)."""
        return all(
            self._socket.send(json.dumps({"type": "stdin", "data": data[i : i + MAX_STDIN_CHARS]}))
            for i in range(0, max(len(data), 1), MAX_STDIN_CHARS)
        )

    def resize(self, cols: int, rows: int) -> bool:
        """Send the terminal size (1 to 1000 each)."""
        return self._socket.send(json.dumps({"type": "resize", "cols": cols, "rows": rows}))
