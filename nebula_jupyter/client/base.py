"""What the blocking and asyncio clients share: the server, timeouts, and error translation.

Both drivers send :class:`~.calls.Call` objects through httpx (one HTTP stack, sync and async
alike) and turn every transport failure into the client's own errors here.
"""

from __future__ import annotations

import socket
from typing import Any

import httpx

from .address import ServerAddress
from .arguments import checked
from .calls import Call
from .discovery import discover
from .errors import RequestTimeout, ServerUnavailable

DEFAULT_TIMEOUT_SECONDS = 30.0
DEFAULT_RECONNECT_SECONDS = 30.0

# A quiet run may print nothing for hours, so a follow has no read timeout; TCP keepalive
# still notices a server that vanished without closing the connection (Linux option names).
KEEPALIVE_OPTIONS = [(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)] + [
    (socket.IPPROTO_TCP, getattr(socket, name), value)
    for name, value in (("TCP_KEEPIDLE", 30), ("TCP_KEEPINTVL", 10), ("TCP_KEEPCNT", 3))
    if hasattr(socket, name)
]


class ClientBase:
    """Address, timeouts and repr shared by both clients."""

    @checked
    def __init__(
        self,
        url: str | None = None,
        token: str | None = None,
        *,
        timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
        reconnect_seconds: float = DEFAULT_RECONNECT_SECONDS,
        address: ServerAddress | None = None,
    ) -> None:
        """Talk to ``url`` with ``token``; without a URL, discover the server.

        ``timeout_seconds`` bounds every HTTP call and each WebSocket opening;
        ``reconnect_seconds`` is how long a dropped stream keeps trying to resume.
        """
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

    def _http_options(self) -> dict[str, Any]:
        # Jupyter servers are reached directly: an HTTP proxy from the environment would break
        # loopback URLs, so the environment is not trusted (as for the WebSocket).
        return {"trust_env": False, "timeout": self.timeout_seconds}

    def _request(self, call: Call[Any]) -> dict[str, Any]:
        headers = self.address.headers()
        if call.body is not None:
            headers["Content-Type"] = "application/json"
        return {
            "method": call.method,
            "url": self.address.http_url(call.path, call.query),
            "content": call.encoded_body(),
            "headers": headers,
        }

    def _follow_options(self) -> dict[str, float]:
        return {"open_timeout": self.timeout_seconds, "reconnect_seconds": self.reconnect_seconds}

    def _unreachable(self, exc: httpx.HTTPError) -> ServerUnavailable:
        """Translate an httpx transport failure (RequestTimeout for timeouts)."""
        if isinstance(exc, httpx.TimeoutException):
            return RequestTimeout(
                f"{self.address.display_url} did not answer within {self.timeout_seconds:g} s"
            )
        return ServerUnavailable(f"cannot reach {self.address.display_url}: {exc}")

    def _stream_timeout(self, follow: bool) -> httpx.Timeout:
        read = None if follow else self.timeout_seconds
        return httpx.Timeout(self.timeout_seconds, read=read)
