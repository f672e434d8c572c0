"""Every exception the client raises, and the mapping from HTTP answers to them.

One taxonomy for both drivers (blocking and asyncio) and both transports (HTTP and the
WebSocket stream): callers catch :class:`NebulaError` and never see a library's own errors.
"""

from __future__ import annotations

import json
from typing import Any

from ..protocol import RunRecord


class NebulaError(Exception):
    """Base class of every error the nebula client raises."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        """Store the human-readable message and the HTTP status, if there was one."""
        super().__init__(message)
        self.message = message
        self.status = status


class BadRequest(NebulaError):
    """The server rejected the request as malformed (HTTP 400)."""


class Unauthorized(NebulaError):
    """The credentials were missing or wrong (HTTP 401/403, WebSocket close 4401)."""


class NotFound(NebulaError):
    """No run has this id (HTTP 404, WebSocket close 4404)."""


class Conflict(NebulaError):
    """The run is in the wrong state for the request (HTTP 409)."""

    def __init__(
        self, message: str, *, status: int | None = 409, run: RunRecord | None = None
    ) -> None:
        """Keep the run record the server sent along with the conflict, if any."""
        super().__init__(message, status=status)
        self.run = run


class QueueFull(NebulaError):
    """The server's queue of waiting runs is full (HTTP 429)."""


class InsufficientStorage(NebulaError):
    """The server cannot store a new run's output: its disk is full (HTTP 507)."""


class BadFrame(NebulaError):
    """The server sent a stream frame that breaks the protocol (CONTRACT §3)."""


class ServerError(NebulaError):
    """The server failed while handling the request (HTTP 5xx)."""


class ServerUnavailable(NebulaError):
    """No server could be found or reached, or it is shutting down (HTTP 503)."""


class RequestTimeout(ServerUnavailable, TimeoutError):
    """The server did not answer within the client's timeout."""


_BY_STATUS: dict[int, type[NebulaError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Unauthorized,
    404: NotFound,
    409: Conflict,
    429: QueueFull,
    503: ServerUnavailable,
    507: InsufficientStorage,
}


def error_for_status(status: int, body: bytes, what: str) -> NebulaError:
    """Build the exception for a non-success HTTP answer to ``what`` (e.g. ``GET runs/x``)."""
    detail: dict[str, Any] = {}
    try:
        parsed = json.loads(body.decode("utf-8")) if body else {}
        if isinstance(parsed, dict):
            detail = parsed
    except (UnicodeDecodeError, ValueError):
        # Proxies and Jupyter's own HTML error pages are not JSON; the status still says enough.
        pass
    server_message = detail.get("message") or detail.get("reason")
    text = f"{what}: HTTP {status}"
    if isinstance(server_message, str) and server_message:
        text = f"{text}: {server_message}"
    if status in (401, 403):
        text += " (check the token: connect(url, token), --token or NEBULA_TOKEN)"
    cls = _BY_STATUS.get(status, ServerError if status >= 500 else NebulaError)
    if cls is Conflict:
        run = detail.get("run")
        record = run if isinstance(run, dict) else None
        return Conflict(text, status=status, run=record)  # type: ignore[arg-type]
    return cls(text, status=status)


def check(status: int, payload: bytes, what: str) -> bytes:
    """Return the body of a 2xx answer; raise the matching :class:`NebulaError` otherwise."""
    if 200 <= status < 300:
        return payload
    raise error_for_status(status, payload, what)
