"""Following a run's stream with no I/O of its own: what was seen, when to reconnect, and how.

:class:`FollowSession` keeps the state that makes a reconnect lose and repeat nothing (the
last seq handed out, CONTRACT §3 ``after=``), drops the status that every (re)connect repeats,
and decides after a failure whether to try again and how long to wait. The blocking and
asyncio drivers (``sync.py``, ``aio.py``) only open sockets, receive frames and sleep as it says
(the sans-I/O idea of websockets' ``protocol.py``).
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Generator
from typing import Any

from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from ..protocol import (
    CLOSE_NOT_FOUND,
    CLOSE_UNAUTHORIZED,
    OutputMessage,
    ProtocolError,
    StatusMessage,
    TruncatedMessage,
    parse_server_message,
)
from .address import ServerAddress
from .calls import stream_url
from .errors import (
    BadFrame,
    NebulaError,
    NotFound,
    ServerError,
    ServerUnavailable,
    Unauthorized,
    error_for_status,
)

log = logging.getLogger(__name__)

#: What a follower hands out; errors about our own messages are not events.
Event = OutputMessage | StatusMessage | TruncatedMessage

#: Exceptions a driver catches while opening the socket, for :meth:`FollowSession.retry_delay`.
CONNECT_ERRORS = (OSError, InvalidHandshake)

# Output frames are bounded by the server's chunking; this only guards against runaway frames.
_MAX_FRAME_BYTES = 16 * 1024 * 1024


def connect_error(exc: BaseException, run_id: str) -> NebulaError:
    """Translate a failure to open the stream into the client's own taxonomy."""
    what = f"stream of run {run_id}"
    if isinstance(exc, InvalidStatus):
        return error_for_status(exc.response.status_code, bytes(exc.response.body or b""), what)
    return ServerUnavailable(f"cannot open the {what}: {exc}")


def close_code(exc: ConnectionClosed) -> int | None:
    """Return the close code the server sent, if any."""
    return exc.rcvd.code if exc.rcvd is not None else None


def remaining(deadline: float | None) -> float | None:
    """Return the seconds left until ``deadline`` (a ``time.monotonic`` value), or None."""
    return None if deadline is None else max(0.0, deadline - time.monotonic())


@dataclasses.dataclass(frozen=True)
class Connect:
    """Step: open a WebSocket to ``url`` with websockets' ``connect(url, **options)``."""

    url: str
    options: dict[str, Any]


@dataclasses.dataclass(frozen=True)
class Receive:
    """Step: receive one frame, waiting at most ``timeout_seconds`` (None: no limit)."""

    timeout_seconds: float | None


@dataclasses.dataclass(frozen=True)
class Sleep:
    """Step: close the socket if one is open, then wait before reconnecting."""

    seconds: float


#: What :meth:`FollowSession.next_step` returns: I/O for the driver to do, or an event to hand out.
Step = Connect | Receive | Sleep | OutputMessage | StatusMessage | TruncatedMessage


@dataclasses.dataclass
class FollowSession:
    """Everything about following one run except the socket itself.

    ``reconnect_seconds`` is how long a dropped stream keeps trying to resume before giving up;
    ``open_timeout`` bounds each opening handshake.
    """

    address: ServerAddress
    run_id: str
    after: dataclasses.InitVar[int] = 0
    open_timeout: float = 30.0
    reconnect_seconds: float = 30.0
    last_seq: int = dataclasses.field(init=False)
    finished: bool = dataclasses.field(init=False, default=False)
    _last_status: tuple[str, bool] | None = dataclasses.field(init=False, default=None)
    _ever_connected: bool = dataclasses.field(init=False, default=False)
    _give_up_at: float = dataclasses.field(init=False, default=0.0)
    _delay: float = dataclasses.field(init=False, default=0.0)
    _steps: Generator[Step, object, None] | None = dataclasses.field(init=False, default=None)

    def __post_init__(self, after: int) -> None:
        """Start after output chunk ``after`` (0: from the beginning)."""
        self.last_seq = after

    def next_step(self, reply: object, deadline: float | None) -> Step | None:
        """Return the next step given the reply to the previous one; None once finished.

        The driver sends back the result of each :class:`Connect` (None, or the exception
        it raised) and of each :class:`Receive` (the frame, or ``TimeoutError`` /
        ``ConnectionClosed``); other steps get None.
        """
        if self._steps is None:
            self._steps = self._flow(deadline)
            reply = None
        try:
            return self._steps.send(reply)
        except StopIteration:
            return None

    def _flow(self, deadline: float | None) -> Generator[Step, object, None]:
        # Yields the I/O to do and the events to hand out, until the terminal status; raises
        # the client's errors. A generator keeps the reconnect loop readable as one piece.
        connected = False
        while not self.finished:
            if not connected:
                failure = yield Connect(self.url(), self.connect_options(deadline))
                if isinstance(failure, BaseException):
                    yield Sleep(self.retry_delay(connect_error(failure, self.run_id), deadline))
                    continue
                self.connected()
                connected = True
            frame = yield Receive(remaining(deadline))
            if isinstance(frame, TimeoutError):
                raise self.timed_out()
            if isinstance(frame, ConnectionClosed):
                connected = False
                self.closed(close_code(frame))
                yield Sleep(0)
                continue
            assert isinstance(frame, str | bytes), frame
            event = self.accept(frame)
            if event is not None:
                yield event

    # -- connecting ------------------------------------------------------------------------

    def url(self) -> str:
        """Return the URL of the next connection: it resumes after the last seq handed out."""
        return stream_url(self.address, self.run_id, self.last_seq)

    def connect_options(self, deadline: float | None) -> dict[str, Any]:
        """Return keyword arguments for websockets' ``connect`` (sync and asyncio alike)."""
        left = remaining(deadline)
        if left is not None and left <= 0:
            raise self.timed_out()
        return {
            "additional_headers": self.address.headers(),
            "open_timeout": self.open_timeout if left is None else min(left, self.open_timeout),
            "max_size": _MAX_FRAME_BYTES,
            # Jupyter servers are reached directly; an HTTP proxy from the env would break it.
            "proxy": None,
        }

    def connected(self) -> None:
        """Record a successful connection, resetting the back-off."""
        self._ever_connected = True
        self._give_up_at = 0.0
        self._delay = 0.0

    def closed(self, code: int | None) -> None:
        """Raise for closes that mean 'stop' (4401, 4404); return to reconnect after others."""
        if code == CLOSE_UNAUTHORIZED:
            raise Unauthorized(f"the stream of run {self.run_id} refused the credentials")
        if code == CLOSE_NOT_FOUND:
            raise NotFound(f"run {self.run_id} not found")
        log.debug("stream of run %s dropped (close code %s); resuming", self.run_id, code)

    def retry_delay(self, error: NebulaError, deadline: float | None) -> float:
        """Return the seconds to wait before reconnecting, or raise when it is hopeless."""
        if not isinstance(error, ServerUnavailable | ServerError) or not self._ever_connected:
            raise error
        now = time.monotonic()
        if not self._give_up_at:
            self._give_up_at = now + self.reconnect_seconds
        if now >= self._give_up_at:
            raise ServerUnavailable(
                f"lost the stream of run {self.run_id} and could not reconnect within "
                f"{self.reconnect_seconds:g} s: {error.message}"
            ) from error
        self._delay = min(max(self._delay * 2, 0.05), 2.0)
        delay = min(self._delay, self._give_up_at - now)
        left = remaining(deadline)
        if left is not None and left <= delay:
            raise self.timed_out() from error
        return delay

    def timed_out(self) -> TimeoutError:
        """Return the error for a follow that reached its deadline."""
        return TimeoutError(f"run {self.run_id} did not finish in time")

    # -- receiving -------------------------------------------------------------------------

    def accept(self, raw: str | bytes) -> Event | None:
        """Decode one server frame; return the event to hand out, or None to skip it.

        Raises :class:`BadFrame` for a frame that breaks the protocol.
        """
        try:
            message = parse_server_message(raw)
        except ProtocolError as exc:
            raise BadFrame(f"the stream of run {self.run_id} sent a bad frame: {exc}") from None
        if isinstance(message, OutputMessage):
            if message.seq <= self.last_seq:
                return None  # already handed out before a reconnect
            self.last_seq = message.seq
            return message
        if isinstance(message, StatusMessage):
            key = (message.status, bool(message.run["cancel_requested"]))
            self.finished = message.terminal
            # Each (re)connect repeats the current status; hand out only real changes.
            if key == self._last_status:
                return None
            self._last_status = key
            return message
        if isinstance(message, TruncatedMessage):
            return message
        log.debug("stream of run %s: server error %s: %s", self.run_id, message.code, message)
        return None
