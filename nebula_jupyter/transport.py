"""Server addresses and the blocking HTTP primitives shared by the client and discovery."""

from __future__ import annotations

import http.client
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode, urlsplit, urlunsplit

from .client_errors import RequestTimeout, ServerUnavailable, error_for_status


@dataclass(frozen=True)
class ServerAddress:
    """Where a nebula server lives and the credential to present to it."""

    url: str
    token: str | None = field(default=None, repr=False)
    source: str = "explicit"

    def __post_init__(self) -> None:
        """Check the URL and make its path end with a slash so relative paths join under it."""
        parts = urlsplit(self.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) server URL: {self.display_url!r}")
        path = parts.path if parts.path.endswith("/") else parts.path + "/"
        object.__setattr__(self, "url", urlunsplit((parts.scheme, parts.netloc, path, "", "")))

    def __repr__(self) -> str:
        """Show the URL and where it came from, never the token."""
        token = "<hidden>" if self.token else None
        return f"ServerAddress(url={self.display_url!r}, token={token}, source={self.source!r})"

    @property
    def display_url(self) -> str:
        """Return the URL without any user:password part, fit for messages."""
        parts = urlsplit(self.url)
        netloc = parts.netloc.rpartition("@")[2]
        return urlunsplit((parts.scheme, netloc, parts.path, "", ""))

    def http_url(self, path: str, query: Mapping[str, str] | None = None) -> str:
        """Return the absolute URL of ``path`` (relative to the base URL) with a query string."""
        url = self.url + path
        return f"{url}?{urlencode(query)}" if query else url

    def ws_url(self, path: str, query: Mapping[str, str] | None = None) -> str:
        """Return the ws:// or wss:// URL of ``path``."""
        url = self.http_url(path, query)
        return "ws" + url[len("http") :]

    def headers(self) -> dict[str, str]:
        """Return the headers that authenticate a request."""
        return {"Authorization": f"token {self.token}"} if self.token else {}


def run_path(run_id: str | None = None, action: str | None = None) -> str:
    """Return the path of the runs collection, one run, or one run's sub-resource."""
    path = "api/nebula/runs"
    if run_id is not None:
        # Quoting everything keeps a hostile id from walking to another endpoint.
        path += "/" + quote(run_id, safe="")
    if action is not None:
        path += "/" + action
    return path


def encode_body(body: Any) -> tuple[bytes | None, dict[str, str]]:
    """Serialise a JSON request body and return it with its content-type header."""
    if body is None:
        return None, {}
    return json.dumps(body).encode("utf-8"), {"Content-Type": "application/json"}


def open_http(
    address: ServerAddress,
    method: str,
    path: str,
    *,
    query: Mapping[str, str] | None = None,
    body: Any = None,
    timeout: float,
) -> tuple[http.client.HTTPConnection, http.client.HTTPResponse]:
    """Send one request with blocking sockets and return the open connection and response."""
    parts = urlsplit(address.http_url(path, query))
    connection_class = (
        http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    )
    connection = connection_class(parts.hostname or "", parts.port, timeout=timeout)
    data, headers = encode_body(body)
    target = f"{parts.path}?{parts.query}" if parts.query else parts.path
    try:
        connection.request(method, target, body=data, headers={**headers, **address.headers()})
        return connection, connection.getresponse()
    except (OSError, http.client.HTTPException) as exc:
        connection.close()
        raise transport_error(exc, address, timeout) from exc
    except BaseException:
        connection.close()
        raise


def transport_error(exc: Exception, address: ServerAddress, timeout: float) -> ServerUnavailable:
    """Translate a socket-level failure into ServerUnavailable (RequestTimeout for timeouts)."""
    if isinstance(exc, TimeoutError):
        return RequestTimeout(f"{address.display_url} did not answer within {timeout:g} s")
    return ServerUnavailable(f"cannot reach {address.display_url}: {exc}")


def http_call(
    address: ServerAddress,
    method: str,
    path: str,
    *,
    query: Mapping[str, str] | None = None,
    body: Any = None,
    timeout: float,
) -> tuple[int, bytes]:
    """Send one request and return the status and the whole body."""
    connection, response = open_http(address, method, path, query=query, body=body, timeout=timeout)
    try:
        return response.status, response.read()
    except (OSError, http.client.HTTPException) as exc:
        raise transport_error(exc, address, timeout) from exc
    finally:
        connection.close()


def check(status: int, payload: bytes, what: str) -> bytes:
    """Return the body of a 2xx answer; raise the matching NebulaError otherwise."""
    if 200 <= status < 300:
        return payload
    raise error_for_status(status, payload, what)
