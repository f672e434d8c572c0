"""The run stream WebSocket (CONTRACT §3): authenticate, then hand the socket to a Subscription."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from jupyter_core.utils import ensure_async
from jupyter_server.auth.decorator import allow_unauthenticated
from jupyter_server.auth.identity import User
from jupyter_server.base.handlers import JupyterHandler
from jupyter_server.base.websocket import WebSocketMixin
from tornado import web
from tornado.websocket import WebSocketClosedError, WebSocketHandler

from .. import protocol
from .auth import AUTH_RESOURCE, EXECUTE, READ, WRITE, constant_time_match
from .base import EXTENSION_USER, NebulaAuthMixin
from .errors import (
    ApiError,
    InputRefused,
    InvalidRequest,
    NotATty,
    RunConflict,
    RunNotFound,
)
from .fanout import RunDeleted, StreamQuery, Subscription

# CONTRACT §3: the error codes of refused client messages.
_ERROR_CODES: dict[type[ApiError], str] = {
    NotATty: "not_a_tty",
    InputRefused: "input_full",
    RunConflict: "conflict",
    RunNotFound: "conflict",
}


class _SocketSink:
    """Adapt the handler to the :class:`~.fanout.FrameSink` the core writes to."""

    def __init__(self, handler: RunStreamHandler) -> None:
        self._handler = handler

    def send(self, frame: bytes) -> asyncio.Future[None]:
        # bytes with binary=False: a text frame whose UTF-8 was encoded once, for all clients.
        flushed = self._handler.write_message(frame, binary=False)
        flushed.add_done_callback(_consume_error)
        return flushed

    def finish(self) -> None:
        self._handler.close_politely()


def _consume_error(future: asyncio.Future[None]) -> None:
    # Most write futures are never awaited; a client that went away is not worth a log line.
    if not future.cancelled():
        future.exception()


class RunStreamHandler(NebulaAuthMixin, WebSocketMixin, WebSocketHandler, JupyterHandler):
    """``api/nebula/runs/{id}/stream``."""

    _subscription: Subscription | None = None
    _pump: asyncio.Task[None] | None = None
    _auth_deadline: asyncio.TimerHandle | None = None
    _deferred_auth = False
    _run_id = ""
    _query = StreamQuery()

    @property
    def max_message_size(self) -> int:
        """Refuse client frames over 64 KiB (Tornado closes with 1009)."""
        return protocol.MAX_CLIENT_MESSAGE_BYTES

    # -- handshake -------------------------------------------------------------------------

    @allow_unauthenticated
    async def get(self, run_id: str) -> None:
        """Check credentials, the run and the query before upgrading.

        Own check instead of ``@ws_authenticated``: a handshake with no credentials at all is
        upgraded and must authenticate with its first message (CONTRACT §3).
        """
        self._run_id = run_id
        try:
            self._query = StreamQuery(
                after_seq=self.query_int("after") or 0,
                tail_bytes=self.query_int("tail"),
                window_bytes=self.query_int("window"),
            )
            if self._query.window_bytes == 0:
                raise InvalidRequest("'window' must be a positive integer.")
            if self.credentials_presented():
                if self.current_user is None:
                    raise web.HTTPError(403)
                if not await self._authorized(self.current_user, READ):
                    raise web.HTTPError(403)
                self._subscription = self._subscribe()
            else:
                self._deferred_auth = True
        except ApiError as exc:
            # Refused before the upgrade, so a plain HTTP status (CONTRACT §3).
            raise web.HTTPError(exc.status_code, exc.message) from None
        await super().get(run_id)

    def _subscribe(self) -> Subscription:
        return self.manager.subscribe(self._run_id, self._query)

    async def _authorized(self, user: User, action: str) -> bool:
        return bool(
            await ensure_async(self.authorizer.is_authorized(self, user, action, AUTH_RESOURCE))
        )

    def check_origin(self, origin: str | None = None) -> bool:
        """Allow any origin for the auth-message flow, which carries no ambient credential."""
        if self._deferred_auth:
            return True
        return bool(super().check_origin(origin))

    # -- connection ------------------------------------------------------------------------

    def open(self, *args: Any, **kwargs: Any) -> None:
        """Start streaming, or wait for the auth message."""
        super().open(*args, **kwargs)
        self.settings["nebula_sockets"].add(self)
        if self._deferred_auth:
            timeout = self.settings["nebula_auth_timeout_seconds"]
            self._auth_deadline = asyncio.get_running_loop().call_later(
                timeout, self.close, protocol.CLOSE_UNAUTHORIZED, "Authentication timed out."
            )
        else:
            self._start_pump()

    def _start_pump(self) -> None:
        assert self._subscription is not None
        self._pump = asyncio.get_running_loop().create_task(
            self._subscription.run(_SocketSink(self))
        )
        self._pump.add_done_callback(self._pump_done)

    def _pump_done(self, task: asyncio.Task[None]) -> None:
        if task.cancelled():
            return
        exc = task.exception()
        if isinstance(exc, RunDeleted):
            self.close(protocol.CLOSE_NOT_FOUND, "The run was deleted.")
        elif exc is not None and not isinstance(exc, WebSocketClosedError):
            self.log.error("Run stream failed", exc_info=exc)
            self.close(protocol.CLOSE_INTERNAL_ERROR, "Internal error.")

    async def on_message(self, message: str | bytes) -> None:
        """Handle auth, cancel, ack, stdin and resize messages."""
        try:
            parsed = protocol.parse_client_message(message)
        except protocol.ProtocolError as exc:
            if self._pump is None:
                self.close(protocol.CLOSE_UNAUTHORIZED, "Authenticate first.")
            else:
                self._send_error("bad_message", str(exc))
            return
        if self._pump is None or self._subscription is None:
            await self._authenticate(parsed)
        elif isinstance(parsed, protocol.AckMessage):
            self._subscription.ack(parsed.seq)
        elif isinstance(parsed, protocol.CancelMessage):
            await self._cancel()
        elif isinstance(parsed, protocol.StdinMessage | protocol.ResizeMessage):
            await self._terminal(parsed)
        else:
            self._send_error("bad_message", "'auth' is only valid as the first message.")

    async def _authenticate(self, message: protocol.ClientMessage) -> None:
        if self._auth_deadline is not None:
            self._auth_deadline.cancel()
        user = self._user_for(message)
        if user is None or not await self._authorized(user, READ):
            self.close(protocol.CLOSE_UNAUTHORIZED, "Authentication failed.")
            return
        self.current_user = self._jupyter_current_user = user
        try:
            self._subscription = self._subscribe()
        except RunNotFound:
            self.close(protocol.CLOSE_NOT_FOUND, "No such run.")
            return
        except InvalidRequest as exc:
            self._send_error("bad_request", exc.message)
            self.close(protocol.CLOSE_POLICY_VIOLATION, "Bad 'after'.")
            return
        self._start_pump()

    def _user_for(self, message: protocol.ClientMessage) -> User | None:
        if not isinstance(message, protocol.AuthMessage):
            return None
        if self.credentials.verify(message.token):
            return User(username=EXTENSION_USER)
        server_token = getattr(self.identity_provider, "token", "") or ""
        if constant_time_match(message.token, [server_token]):
            return self.identity_provider.generate_anonymous_user(self)
        return None

    async def _cancel(self) -> None:
        if not await self._authorized(self.current_user, WRITE):
            self._send_error("forbidden", "Not authorized to cancel this run.")
            return
        try:
            self.manager.cancel(self._run_id)
        except ApiError as exc:
            self._send_error(_ERROR_CODES.get(type(exc), "conflict"), exc.message)

    async def _terminal(self, message: protocol.StdinMessage | protocol.ResizeMessage) -> None:
        # Typing into a program, or changing its terminal, is running code: 'execute'.
        if not await self._authorized(self.current_user, EXECUTE):
            self._send_error("forbidden", "Not authorized to send input to this run.")
            return
        try:
            if isinstance(message, protocol.StdinMessage):
                self.manager.send_input(self._run_id, message.data)
            else:
                self.manager.resize(self._run_id, message.cols, message.rows)
        except ApiError as exc:
            self._send_error(_ERROR_CODES.get(type(exc), "conflict"), exc.message)

    def _send_error(self, code: str, message: str) -> None:
        with contextlib.suppress(WebSocketClosedError):
            self.write_message(protocol.error_frame(code, message), binary=False)

    def close_politely(self) -> None:
        """Close after the terminal status: 1001 while the server shuts down, else 1000."""
        going_away = self.manager.shutting_down
        self.close(protocol.CLOSE_GOING_AWAY if going_away else protocol.CLOSE_NORMAL)

    def on_close(self) -> None:
        """Stop the pump and any auth deadline."""
        self.settings["nebula_sockets"].discard(self)
        if self._auth_deadline is not None:
            self._auth_deadline.cancel()
        if self._pump is not None:
            self._pump.cancel()
