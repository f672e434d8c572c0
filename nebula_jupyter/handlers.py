"""REST handlers: parse, authorize, call one manager method, serialize."""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING, Any

from jupyter_server.auth.decorator import authorized
from jupyter_server.auth.identity import User
from jupyter_server.base.handlers import APIHandler, JupyterHandler
from jupyter_server.utils import url_path_join
from tornado import web
from tornado.iostream import StreamClosedError

from .auth import AUTH_RESOURCE, ExtensionCredentials, token_from_authorization
from .errors import InvalidRequest, NebulaError
from .manager import RunManager
from .models import RunRequest, Stream
from .storage import LogReader

EXTENSION_USER = "nebula-token"


if TYPE_CHECKING:
    _HandlerBase = JupyterHandler
else:
    _HandlerBase = object


class NebulaAuthMixin(_HandlerBase):
    """Accept the extension's tokens alongside Jupyter's identity; map domain errors.

    A plain mixin (not a JupyterHandler subclass) so that it sits before WebSocketMixin in
    the MRO of the WebSocket handler, as Jupyter's own socket handlers expect.
    """

    auth_resource = AUTH_RESOURCE

    @property
    def manager(self) -> RunManager:
        """Return the server's run manager."""
        manager: RunManager = self.settings["nebula_manager"]
        return manager

    @property
    def credentials(self) -> ExtensionCredentials:
        """Return the extension's own credentials."""
        credentials: ExtensionCredentials = self.settings["nebula_credentials"]
        return credentials

    def presented_tokens(self) -> list[str]:
        """Return the tokens the request carries in the query and the Authorization header."""
        tokens = list(self.get_query_arguments("token"))
        header = self.request.headers.get("Authorization")
        if header is not None:
            token = token_from_authorization(header)
            tokens.append(token or "")
        return tokens

    def credentials_presented(self) -> bool:
        """Say whether the request carries any credential (token, header or login cookie)."""
        if self.presented_tokens():
            return True
        return self.get_cookie(self.identity_provider.get_cookie_name(self)) is not None

    async def prepare(self) -> None:  # type: ignore[override]
        """Authenticate extension tokens before Jupyter's identity provider runs."""
        if any(self.credentials.verify(token) for token in self.presented_tokens()):
            # The identity provider returns a user already set on the handler; marking the
            # request token-authenticated also exempts it from the XSRF and Origin checks,
            # exactly as for Jupyter's own token.
            self._jupyter_current_user = User(username=EXTENSION_USER)
            self._token_authenticated = True
        await super().prepare()

    def _handle_request_exception(self, e: BaseException) -> None:
        if isinstance(e, NebulaError) and not self._finished:
            self.log.debug("%s: %s", type(e).__name__, e.message)
            self.send_error(e.status_code, exc_info=(type(e), e, e.__traceback__))
            return
        super()._handle_request_exception(e)

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        """Log unexpected errors without the query string, which may hold a token."""
        if isinstance(value, web.HTTPError | NebulaError):
            status = value.status_code
            message = value.log_message if isinstance(value, web.HTTPError) else value.message
            self.log.warning(
                "%d %s %s: %s", status, self.request.method, self.request.path, message or ""
            )
            return
        self.log.error(
            "Uncaught exception %s %s",
            self.request.method,
            self.request.path,
            exc_info=(typ, value, tb),
        )

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """Write ``{"message": ...}`` and never a traceback."""
        self.set_header("Content-Type", "application/json")
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, NebulaError):
            body = exc.body()
        elif isinstance(exc, web.HTTPError):
            body = {"message": exc.log_message or self._reason}
        else:
            body = {"message": self._reason}
        self.finish(json.dumps(body))


class NebulaAPIHandler(NebulaAuthMixin, APIHandler):
    """Base of the REST handlers."""

    def read_json(self) -> object:
        """Decode the request body as JSON or raise a 400 that says why."""
        try:
            return json.loads(self.request.body or b"")
        except (ValueError, UnicodeDecodeError) as exc:
            raise InvalidRequest(f"The body is not valid JSON: {exc}.") from None

    def write_json(self, data: object, status: int = 200) -> None:
        """Finish with a JSON body."""
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(data))


class RunsHandler(NebulaAPIHandler):
    """``api/nebula/runs``: list and create."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        """List runs newest first, optionally filtered by ``?status=``."""
        records = self.manager.list(self.get_query_argument("status", None))
        self.write_json({"runs": [record.to_json() for record in records]})

    @web.authenticated
    @authorized
    async def post(self) -> None:
        """Create a run."""
        try:
            request = RunRequest.from_json(self.read_json())
        except ValueError as exc:
            raise InvalidRequest(str(exc)) from None
        record = await self.manager.create(request)
        self.set_header("Location", url_path_join(self.base_url, "api/nebula/runs", record.id))
        self.write_json(record.to_json(), status=201)


class RunHandler(NebulaAPIHandler):
    """``api/nebula/runs/{id}``: inspect and delete."""

    @web.authenticated
    @authorized
    async def get(self, run_id: str) -> None:
        """Return one run's record."""
        self.write_json(self.manager.get(run_id).record.to_json())

    @web.authenticated
    @authorized
    async def delete(self, run_id: str) -> None:
        """Delete a finished run and its output."""
        self.manager.delete(run_id)
        self.set_status(204)
        self.finish()


class CancelHandler(NebulaAPIHandler):
    """``api/nebula/runs/{id}/cancel``."""

    @web.authenticated
    @authorized
    async def post(self, run_id: str) -> None:
        """Accept a cancel (202); 409 once the run has ended."""
        self.write_json(self.manager.cancel(run_id).to_json(), status=202)


class LogsHandler(NebulaAPIHandler):
    """``api/nebula/runs/{id}/logs``: the exact bytes, optionally following until the end."""

    BLOCK_BYTES = 1 << 20

    def initialize(self) -> None:
        """Prepare the disconnect flag."""
        super().initialize()
        self._gone = asyncio.Event()

    @web.authenticated
    @authorized
    async def get(self, run_id: str) -> None:
        """Send the stored output; with ``?follow=1`` keep sending until the run ends."""
        run = self.manager.get(run_id)
        stream_name = self.get_query_argument("stream", None)
        if stream_name not in (None, "stdout", "stderr"):
            raise InvalidRequest("'stream' must be 'stdout' or 'stderr'.")
        stream = None if stream_name is None else Stream[stream_name.upper()]
        follow = self.get_query_argument("follow", "0").lower() in ("1", "true", "yes")
        suffix = f"-{stream_name}" if stream_name else ""
        self.set_header("Content-Type", "application/octet-stream")
        self.set_header("Content-Disposition", f'attachment; filename="{run_id}{suffix}.log"')
        self.set_header("X-Content-Type-Options", "nosniff")
        position = 0
        try:
            while True:
                changed = run.feed.changed()
                ended = run.record.status.terminal
                position = await self._send_from(run.feed.reader, stream, position)
                if ended or not follow or not await self._wait_unless_gone(changed):
                    break
        except StreamClosedError:
            return
        self.finish()

    async def _send_from(self, reader: LogReader, stream: Stream | None, position: int) -> int:
        for position, block in reader.iter_raw(stream, position, self.BLOCK_BYTES):  # noqa: B007, B020
            self.write(block)
            await self.flush()  # one block in memory at a time, however large the log
        return position

    async def _wait_unless_gone(self, changed: asyncio.Event) -> bool:
        """Wait for new output; return False if the client went away meanwhile."""
        waiters = [asyncio.ensure_future(changed.wait()), asyncio.ensure_future(self._gone.wait())]
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        for waiter in waiters:
            waiter.cancel()
        return not self._gone.is_set()

    def on_connection_close(self) -> None:
        """Stop following when the client disconnects."""
        self._gone.set()
        super().on_connection_close()
