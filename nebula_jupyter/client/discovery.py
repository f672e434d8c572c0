"""Find the nebula server to talk to: explicit settings, kernel env, user env, running servers.

Running servers are found from the ``jpserver-<pid>.json`` files Jupyter Server writes to the
runtime directory, read directly: importing ``jupyter_server.serverapp`` (what ``jupyter server
list`` does) costs seconds, and a CLI call must stay well under one.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import httpx

from ..protocol import KERNEL_SECRET_ENV, KERNEL_URL_ENV, TOKEN_ENV, URL_ENV
from .address import ServerAddress
from .calls import list_runs
from .errors import ServerUnavailable

PROBE_TIMEOUT_SECONDS = 3.0

HOW_TO_CONFIGURE = (
    "call nebula_jupyter.connect(url, token), pass --url/--token to the nebula command, "
    f"or set {URL_ENV} (for example http://127.0.0.1:8888/) and {TOKEN_ENV} "
    "(the Jupyter server token or one of c.NebulaApp.tokens); "
    "or start a Jupyter server with the nebula_jupyter extension enabled on this machine"
)

ServerInfo = dict[str, Any]


def discover(
    url: str | None = None,
    token: str | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    servers: Callable[[], Iterable[ServerInfo]] | None = None,
) -> ServerAddress:
    """Pick the server: explicit URL > kernel env > NEBULA_URL > a running Jupyter server.

    Raises :class:`ServerUnavailable` saying how to configure one when none answers.
    """
    env = os.environ if environ is None else environ
    if url:
        return ServerAddress(url, token or env.get(TOKEN_ENV) or None, "explicit")
    kernel_url, kernel_secret = env.get(KERNEL_URL_ENV), env.get(KERNEL_SECRET_ENV)
    if kernel_url and kernel_secret:
        return _from_variable(KERNEL_URL_ENV, kernel_url, token or kernel_secret, "kernel")
    if env.get(URL_ENV):
        token = token or env.get(TOKEN_ENV) or None
        return _from_variable(URL_ENV, env[URL_ENV], token, "environment")
    return _from_running_servers(token, servers or running_servers)


def _from_variable(name: str, url: str, token: str | None, source: str) -> ServerAddress:
    try:
        return ServerAddress(url, token, source)
    except ValueError as exc:
        # Not the caller's argument but their settings: say which one, as for no server at all.
        raise ServerUnavailable(f"{name}: {exc}. To fix: {HOW_TO_CONFIGURE}.") from None


def runtime_dir() -> Path:
    """Return Jupyter's runtime directory (``jupyter --runtime-dir``)."""
    from jupyter_core.paths import jupyter_runtime_dir

    return Path(jupyter_runtime_dir())


def running_servers(directory: Path | None = None) -> list[ServerInfo]:
    """Return the server files of live Jupyter servers, most recently started first.

    A file whose process is gone (a server killed with -9 leaves its file behind) is skipped.
    """
    found: list[tuple[float, ServerInfo]] = []
    for path in (directory or runtime_dir()).glob("jpserver-*.json"):
        try:
            info = json.loads(path.read_text(encoding="utf-8"))
            started = path.stat().st_mtime
        except (OSError, ValueError):
            continue
        if isinstance(info, dict) and _alive(info.get("pid")):
            found.append((started, info))
    return [info for _, info in sorted(found, key=lambda item: item[0], reverse=True)]


def _alive(pid: object) -> bool:
    # A file is anyone's to write: only a plain positive int is a pid (True is 1, init; 0 and
    # negative numbers would signal process groups; a huge one overflows the C call).
    if type(pid) is not int or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, OverflowError):
        return False
    except PermissionError:
        return True  # someone else's process: alive, though probably not ours to use
    return True


def _from_running_servers(
    token: str | None, servers: Callable[[], Iterable[ServerInfo]]
) -> ServerAddress:
    problems: list[str] = []
    for info in servers():
        try:
            address = ServerAddress(
                str(info.get("url", "")), token or info.get("token") or None, "running server"
            )
        except ValueError:
            continue  # a unix-socket server: not reachable over TCP
        problem = probe(address)
        if problem is None:
            return address
        problems.append(f"{address.display_url} ({problem})")
    found = f"; running servers that did not answer: {', '.join(problems)}" if problems else ""
    raise ServerUnavailable(f"no nebula server found{found}. To fix: {HOW_TO_CONFIGURE}.")


def probe(address: ServerAddress) -> str | None:
    """Return why ``address`` does not serve the nebula API, or None when it does."""
    call = list_runs("running")
    try:
        response = httpx.request(
            call.method,
            address.http_url(call.path, call.query),
            headers=address.headers(),
            timeout=PROBE_TIMEOUT_SECONDS,
            trust_env=False,
        )
    except httpx.HTTPError as exc:
        return f"cannot reach it: {exc}"
    status = response.status_code
    if status == 200:
        return None
    if status in (401, 403):
        return f"HTTP {status}: token refused"
    if status == 404:
        return "HTTP 404: the nebula_jupyter extension is not enabled there"
    return f"HTTP {status}"
