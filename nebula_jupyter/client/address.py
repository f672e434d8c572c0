"""Where a nebula server lives: its base URL and the credential to present to it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit, urlunsplit


@dataclass(frozen=True)
class ServerAddress:
    """Where a nebula server lives and the credential to present to it."""

    url: str
    token: str | None = field(default=None, repr=False)
    source: str = "explicit"

    def __post_init__(self) -> None:
        """Check the URL and make its path end with a slash so relative paths join under it."""
        problem = url_problem(self.url)
        if problem is not None:
            raise ValueError(problem)
        parts = urlsplit(self.url)
        path = parts.path if parts.path.endswith("/") else parts.path + "/"
        object.__setattr__(self, "url", urlunsplit((parts.scheme, parts.netloc, path, "", "")))

    def __repr__(self) -> str:
        """Show the URL and where it came from, never the token."""
        token = "<hidden>" if self.token else None
        return f"ServerAddress(url={self.display_url!r}, token={token}, source={self.source!r})"

    @property
    def display_url(self) -> str:
        """Return the URL without any user:password part, fit for messages."""
        return _without_credentials(self.url)

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


def url_problem(url: str) -> str | None:
    """Say what is wrong with ``url`` as a server's base URL, or return None when it will do."""
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. an unbalanced "[" in the host
        return f"not an http(s) server URL: {url.rpartition('@')[2]!r}"
    if parts.scheme in ("http", "https") and parts.hostname:
        return None
    return f"not an http(s) server URL: {_without_credentials(url)!r}"


def _without_credentials(url: str) -> str:
    parts = urlsplit(url)
    netloc = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))
