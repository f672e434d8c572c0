"""Python clients for the nebula REST API and run streams: blocking and asyncio flavours."""

from __future__ import annotations

import http.client
import json
import socket
import time
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from typing import Any

from .client_errors import (
    BadRequest,
    Conflict,
    NebulaError,
    NotFound,
    QueueFull,
    RequestTimeout,
    ServerError,
    ServerUnavailable,
    Unauthorized,
)
from .discovery import discover
from .follow import (
    TERMINAL_STATUSES,
    AsyncFollower,
    Event,
    OutputEvent,
    StatusEvent,
    SyncFollower,
    TruncatedEvent,
)
from .transport import (
    ServerAddress,
    check,
    encode_body,
    http_call,
    open_http,
    run_path,
    transport_error,
)

__all__ = [
    "TERMINAL_STATUSES",
    "AsyncNebulaClient",
    "BadRequest",
    "Conflict",
    "Event",
    "NebulaClient",
    "NebulaError",
    "NotFound",
    "OutputEvent",
    "QueueFull",
    "RequestTimeout",
    "ServerAddress",
    "ServerError",
    "ServerUnavailable",
    "StatusEvent",
    "TruncatedEvent",
    "Unauthorized",
]

RunRecord = dict[str, Any]
Command = Sequence[str] | str
_Records = list[RunRecord]

DEFAULT_TIMEOUT_SECONDS = 30.0
DEFAULT_RECONNECT_SECONDS = 30.0
_STREAMS = (None, "stdout", "stderr")


def _create_body(
    command: Command, name: str | None, cwd: str | None, env: Mapping[str, str] | None
) -> dict[str, Any]:
    body: dict[str, Any] = {"command": command if isinstance(command, str) else list(command)}
    if name is not None:
        body["name"] = name
    if cwd is not None:
        body["cwd"] = cwd
    if env is not None:
        body["env"] = dict(env)
    return body


def _logs_query(stream: str | None, follow: bool = False) -> dict[str, str]:
    if stream not in _STREAMS:
        raise ValueError(f"stream must be 'stdout', 'stderr' or None, not {stream!r}")
    query = {"stream": stream} if stream else {}
    if follow:
        query["follow"] = "1"
    return query


def _json(payload: bytes) -> Any:
    return json.loads(payload.decode("utf-8"))


def _deadline(timeout: float | None) -> float | None:
    return None if timeout is None else time.monotonic() + timeout


def _enable_keepalive(sock: socket.socket) -> None:
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    for name, value in (("TCP_KEEPIDLE", 30), ("TCP_KEEPINTVL", 10), ("TCP_KEEPCNT", 3)):
        if hasattr(socket, name):  # Linux names; other systems keep their defaults
            sock.setsockopt(socket.IPPROTO_TCP, getattr(socket, name), value)


class _ClientBase:
    """Address, timeouts and repr shared by both clients."""

    def __init__(
        self,
        url: str | None = None,
        token: str | None = None,
        *,
        timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
        reconnect_seconds: float = DEFAULT_RECONNECT_SECONDS,
        address: ServerAddress | None = None,
    ) -> None:
        """Talk to ``url`` with ``token``; without a URL, discover the server."""
        self.address = address if address is not None else discover(url, token)
        self.timeout_seconds = timeout_seconds
        self.reconnect_seconds = reconnect_seconds

    def __repr__(self) -> str:
        """Show the server URL and where it came from, never the token."""
        return f"{type(self).__name__}({self.address!r})"

    @property
    def url(self) -> str:
        """Return the server's base URL."""
        return self.address.url

    def _follower_options(self) -> dict[str, Any]:
        return {"open_timeout": self.timeout_seconds, "reconnect_seconds": self.reconnect_seconds}


class NebulaClient(_ClientBase):
    """Blocking client: safe to call from a notebook cell, where an event loop is running."""

    def create(
        self,
        command: Command,
        name: str | None = None,
        cwd: str | None = None,
        env: Mapping[str, str] | None = None,
    ) -> RunRecord:
        """Start a run (a list runs directly, a string through /bin/sh) and return its record."""
        body = _create_body(command, name, cwd, env)
        record: RunRecord = _json(self._call("POST", run_path(), body=body))
        return record

    def get(self, run_id: str) -> RunRecord:
        """Return the current record of a run."""
        record: RunRecord = _json(self._call("GET", run_path(run_id)))
        return record

    def list(self, status: str | None = None) -> _Records:
        """Return the records of all runs, newest first, optionally only those in ``status``."""
        query = {"status": status} if status else None
        runs: _Records = _json(self._call("GET", run_path(), query=query))["runs"]
        return runs

    def cancel(self, run_id: str) -> RunRecord:
        """Ask the server to cancel a run; raise Conflict if it already ended."""
        record: RunRecord = _json(self._call("POST", run_path(run_id, "cancel"), body={}))
        return record

    def delete(self, run_id: str) -> None:
        """Forget a finished run and its logs; raise Conflict if it is still active."""
        self._call("DELETE", run_path(run_id))

    def logs(self, run_id: str, stream: str | None = None) -> bytes:
        """Return the exact bytes a run wrote so far (both streams in order, or one)."""
        return self._call("GET", run_path(run_id, "logs"), query=_logs_query(stream))

    def stream_logs(
        self, run_id: str, stream: str | None = None, *, follow: bool = False
    ) -> Iterator[bytes]:
        """Yield a run's log bytes as they arrive; with ``follow``, until the run ends."""
        path, query = run_path(run_id, "logs"), _logs_query(stream, follow)
        connection, response = open_http(
            self.address, "GET", path, query=query, timeout=self.timeout_seconds
        )
        try:
            if response.status != 200:
                check(response.status, response.read(), f"GET {path}")
            if follow and connection.sock is not None:
                # A quiet run may print nothing for hours, so no read timeout; TCP keepalive
                # still notices a server that vanished without closing the connection.
                connection.sock.settimeout(None)
                _enable_keepalive(connection.sock)
            while chunk := response.read1(65536):
                yield chunk
        except (OSError, http.client.HTTPException) as exc:
            raise transport_error(exc, self.address, self.timeout_seconds) from exc
        finally:
            connection.close()

    def follow(self, run_id: str, after: int = 0) -> Iterator[Event]:
        """Yield output and status events until the terminal status, surviving reconnects."""
        follower = SyncFollower(self.address, run_id, after=after, **self._follower_options())
        yield from follower.events()

    def wait(self, run_id: str, timeout: float | None = None) -> RunRecord:
        """Block until the run ends and return its final record; raise TimeoutError."""
        deadline = _deadline(timeout)
        record = self.get(run_id)
        if record["status"] in TERMINAL_STATUSES:
            return record
        follower = SyncFollower(
            self.address, run_id, after=int(record["last_seq"]), **self._follower_options()
        )
        for event in follower.events(deadline):
            if isinstance(event, StatusEvent) and event.terminal and event.run:
                return event.run
        return self.get(run_id)

    def _call(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, str] | None = None,
        body: Any = None,
    ) -> bytes:
        status, payload = http_call(
            self.address, method, path, query=query, body=body, timeout=self.timeout_seconds
        )
        return check(status, payload, f"{method} {path}")


class AsyncNebulaClient(_ClientBase):
    """Asyncio client with the same methods as :class:`NebulaClient`, as coroutines."""

    async def create(
        self,
        command: Command,
        name: str | None = None,
        cwd: str | None = None,
        env: Mapping[str, str] | None = None,
    ) -> RunRecord:
        """Start a run (a list runs directly, a string through /bin/sh) and return its record."""
        body = _create_body(command, name, cwd, env)
        record: RunRecord = _json(await self._call("POST", run_path(), body=body))
        return record

    async def get(self, run_id: str) -> RunRecord:
        """Return the current record of a run."""
        record: RunRecord = _json(await self._call("GET", run_path(run_id)))
        return record

    async def list(self, status: str | None = None) -> _Records:
        """Return the records of all runs, newest first, optionally only those in ``status``."""
        query = {"status": status} if status else None
        runs: _Records = _json(await self._call("GET", run_path(), query=query))["runs"]
        return runs

    async def cancel(self, run_id: str) -> RunRecord:
        """Ask the server to cancel a run; raise Conflict if it already ended."""
        record: RunRecord = _json(await self._call("POST", run_path(run_id, "cancel"), body={}))
        return record

    async def delete(self, run_id: str) -> None:
        """Forget a finished run and its logs; raise Conflict if it is still active."""
        await self._call("DELETE", run_path(run_id))

    async def logs(self, run_id: str, stream: str | None = None) -> bytes:
        """Return the exact bytes a run wrote so far (both streams in order, or one)."""
        return await self._call("GET", run_path(run_id, "logs"), query=_logs_query(stream))

    async def follow(self, run_id: str, after: int = 0) -> AsyncIterator[Event]:
        """Yield output and status events until the terminal status, surviving reconnects."""
        follower = AsyncFollower(self.address, run_id, after=after, **self._follower_options())
        async for event in follower.events():
            yield event

    async def wait(self, run_id: str, timeout: float | None = None) -> RunRecord:  # noqa: ASYNC109 (mirrors NebulaClient.wait)
        """Wait until the run ends and return its final record; raise TimeoutError."""
        deadline = _deadline(timeout)
        record = await self.get(run_id)
        if record["status"] in TERMINAL_STATUSES:
            return record
        follower = AsyncFollower(
            self.address, run_id, after=int(record["last_seq"]), **self._follower_options()
        )
        async for event in follower.events(deadline):
            if isinstance(event, StatusEvent) and event.terminal and event.run:
                return event.run
        return await self.get(run_id)

    async def _call(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, str] | None = None,
        body: Any = None,
    ) -> bytes:
        # Imported here so that the blocking client never pulls tornado's HTTP client in.
        from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest
        from tornado.simple_httpclient import HTTPTimeoutError

        data, headers = encode_body(body)
        if data is None and method == "POST":
            data = b""  # tornado insists on a body for POST
        request = HTTPRequest(
            self.address.http_url(path, query),
            method=method,
            headers={**headers, **self.address.headers()},
            body=data,
            connect_timeout=self.timeout_seconds,
            request_timeout=self.timeout_seconds,
        )
        client = AsyncHTTPClient(force_instance=True)
        try:
            response = await client.fetch(request, raise_error=False)
        except HTTPTimeoutError as exc:
            raise transport_error(TimeoutError(), self.address, self.timeout_seconds) from exc
        except (HTTPClientError, OSError) as exc:
            # raise_error=False still raises for failures below HTTP (tornado's code 599).
            raise transport_error(exc, self.address, self.timeout_seconds) from exc
        finally:
            client.close()
        return check(response.code, response.body or b"", f"{method} {path}")
