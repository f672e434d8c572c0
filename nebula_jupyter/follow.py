"""Follow a run's WebSocket stream, resuming with ``after=`` when the connection drops."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.client import ClientConnection as AsyncConnection
from websockets.asyncio.client import connect as async_connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus
from websockets.sync.client import ClientConnection as SyncConnection
from websockets.sync.client import connect as sync_connect

from .client_errors import (
    NebulaError,
    NotFound,
    ServerError,
    ServerUnavailable,
    Unauthorized,
    error_for_status,
)
from .transport import ServerAddress, run_path

log = logging.getLogger(__name__)

TERMINAL_STATUSES = frozenset({"succeeded", "failed", "cancelled"})
_CLOSE_UNAUTHORIZED = 4401
_CLOSE_NOT_FOUND = 4404
# Output frames are bounded by the server's chunking; this only guards against runaway frames.
_MAX_FRAME_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True)
class OutputEvent:
    """A piece of a run's output; ``seq`` numbers chunks across both streams."""

    stream: str
    seq: int
    data: str


@dataclass(frozen=True)
class StatusEvent:
    """The run changed status (or a cancel was accepted); ``run`` is the full record."""

    status: str
    run: dict[str, Any] = field(repr=False)

    @property
    def terminal(self) -> bool:
        """Say whether this is the run's final status."""
        return self.status in TERMINAL_STATUSES


@dataclass(frozen=True)
class TruncatedEvent:
    """Part of the history was skipped (only when following with ``tail``)."""

    skipped_bytes: int
    first_seq: int


Event = OutputEvent | StatusEvent | TruncatedEvent


class FollowState:
    """What a follower has seen so far: enough to resume exactly where it left off."""

    def __init__(self, after: int = 0) -> None:
        """Start after output chunk ``after`` (0: from the beginning)."""
        self.last_seq = after
        self.finished = False
        self._last_status: tuple[str, bool] | None = None

    def accept(self, raw: str | bytes) -> Event | None:
        """Decode one server message; return the event to hand out, or None to skip it."""
        message = json.loads(raw)
        kind = message.get("type") if isinstance(message, dict) else None
        if kind in ("stdout", "stderr"):
            seq = int(message["seq"])
            if seq <= self.last_seq:
                return None  # already handed out before a reconnect
            self.last_seq = seq
            return OutputEvent(kind, seq, str(message["data"]))
        if kind == "status":
            run = message.get("run") if isinstance(message.get("run"), dict) else {}
            event = StatusEvent(str(message["status"]), run)
            key = (event.status, bool(run.get("cancel_requested")))
            self.finished = event.terminal
            # Each (re)connect repeats the current status; hand out only real changes.
            if key == self._last_status:
                return None
            self._last_status = key
            return event
        if kind == "truncated":
            return TruncatedEvent(int(message["skipped_bytes"]), int(message["first_seq"]))
        log.debug("ignoring stream message of type %r", kind)
        return None


class Reconnector:
    """Decide, after a dropped stream, whether and when to try again."""

    def __init__(self, run_id: str, reconnect_seconds: float) -> None:
        """Give up when no connection succeeds for ``reconnect_seconds``."""
        self.run_id = run_id
        self.reconnect_seconds = reconnect_seconds
        self.ever_connected = False
        self._give_up_at = 0.0
        self._delay = 0.0

    def connected(self) -> None:
        """Record a successful connection, resetting the back-off."""
        self.ever_connected = True
        self._give_up_at = 0.0
        self._delay = 0.0

    def closed(self, exc: ConnectionClosed) -> None:
        """Raise for closes that mean 'stop'; return to reconnect after the others."""
        code = exc.rcvd.code if exc.rcvd is not None else None
        if code == _CLOSE_UNAUTHORIZED:
            raise Unauthorized(f"the stream of run {self.run_id} refused the credentials")
        if code == _CLOSE_NOT_FOUND:
            raise NotFound(f"run {self.run_id} not found")
        log.debug("stream of run %s dropped (%s); resuming", self.run_id, exc)

    def failed(self, exc: BaseException) -> float:
        """Return how long to wait before the next attempt, or raise when it is hopeless."""
        error = self._as_error(exc)
        if not isinstance(error, ServerUnavailable | ServerError) or not self.ever_connected:
            raise error from exc
        now = time.monotonic()
        if not self._give_up_at:
            self._give_up_at = now + self.reconnect_seconds
        if now >= self._give_up_at:
            raise ServerUnavailable(
                f"lost the stream of run {self.run_id} and could not reconnect within "
                f"{self.reconnect_seconds:g} s: {error.message}"
            ) from exc
        self._delay = min(max(self._delay * 2, 0.05), 2.0)
        return min(self._delay, self._give_up_at - now)

    def _as_error(self, exc: BaseException) -> NebulaError:
        what = f"stream of run {self.run_id}"
        if isinstance(exc, InvalidStatus):
            return error_for_status(exc.response.status_code, bytes(exc.response.body or b""), what)
        return ServerUnavailable(f"cannot open the {what}: {exc}")


_CONNECT_ERRORS = (OSError, InvalidHandshake)


def _remaining(deadline: float | None) -> float | None:
    return None if deadline is None else max(0.0, deadline - time.monotonic())


class _Follower:
    """What the blocking and the asyncio followers share: state, URL, connection options."""

    def __init__(
        self,
        address: ServerAddress,
        run_id: str,
        *,
        after: int = 0,
        open_timeout: float = 30.0,
        reconnect_seconds: float = 30.0,
    ) -> None:
        """Prepare to follow ``run_id`` from after output chunk ``after``."""
        self.address = address
        self.run_id = run_id
        self.state = FollowState(after)
        self.open_timeout = open_timeout
        self._reconnect = Reconnector(run_id, reconnect_seconds)

    def _url(self) -> str:
        # Resuming after the last seq seen is what makes a reconnect lose and repeat nothing.
        query = {"after": str(self.state.last_seq)}
        return self.address.ws_url(run_path(self.run_id, "stream"), query)

    def _options(self, deadline: float | None) -> dict[str, Any]:
        remaining = _remaining(deadline)
        if remaining is not None and remaining <= 0:
            raise self._timed_out()
        open_timeout = self.open_timeout if remaining is None else min(remaining, self.open_timeout)
        return {
            "additional_headers": self.address.headers(),
            "open_timeout": open_timeout,
            "max_size": _MAX_FRAME_BYTES,
            # Jupyter servers are reached directly; an HTTP proxy from the env would break it.
            "proxy": None,
        }

    def _retry_delay(self, exc: BaseException, deadline: float | None) -> float:
        delay = self._reconnect.failed(exc)
        remaining = _remaining(deadline)
        if remaining is not None and remaining <= delay:
            raise self._timed_out() from exc
        return delay

    def _timed_out(self) -> TimeoutError:
        return TimeoutError(f"run {self.run_id} did not finish in time")


class SyncFollower(_Follower):
    """Blocking follower of one run's stream; iterate :meth:`events`."""

    _connection: SyncConnection | None = None

    def events(self, deadline: float | None = None) -> Iterator[Event]:
        """Yield events until the terminal status; raise TimeoutError at ``deadline``."""
        try:
            while not self.state.finished:
                connection = self._connect(deadline)
                try:
                    raw = connection.recv(timeout=_remaining(deadline))
                except TimeoutError:
                    raise self._timed_out() from None
                except ConnectionClosed as exc:
                    self.close()
                    self._reconnect.closed(exc)
                    continue
                event = self.state.accept(raw)
                if event is not None:
                    yield event
        finally:
            self.close()

    def close(self) -> None:
        """Close the current connection, if any."""
        if self._connection is not None:
            connection, self._connection = self._connection, None
            connection.close()

    def _connect(self, deadline: float | None) -> SyncConnection:
        while self._connection is None:
            try:
                self._connection = sync_connect(self._url(), **self._options(deadline))
                self._reconnect.connected()
            except _CONNECT_ERRORS as exc:
                time.sleep(self._retry_delay(exc, deadline))
        return self._connection


class AsyncFollower(_Follower):
    """Asyncio follower of one run's stream; iterate :meth:`events` with ``async for``."""

    _connection: AsyncConnection | None = None

    async def events(self, deadline: float | None = None) -> AsyncIterator[Event]:
        """Yield events until the terminal status; raise TimeoutError at ``deadline``."""
        try:
            while not self.state.finished:
                connection = await self._connect(deadline)
                try:
                    raw = await asyncio.wait_for(connection.recv(), _remaining(deadline))
                except TimeoutError:
                    raise self._timed_out() from None
                except ConnectionClosed as exc:
                    await self.close()
                    self._reconnect.closed(exc)
                    continue
                event = self.state.accept(raw)
                if event is not None:
                    yield event
        finally:
            await self.close()

    async def close(self) -> None:
        """Close the current connection, if any."""
        if self._connection is not None:
            connection, self._connection = self._connection, None
            await connection.close()

    async def _connect(self, deadline: float | None) -> AsyncConnection:
        while self._connection is None:
            try:
                self._connection = await async_connect(self._url(), **self._options(deadline))
                self._reconnect.connected()
            except _CONNECT_ERRORS as exc:
                await asyncio.sleep(self._retry_delay(exc, deadline))
        return self._connection
