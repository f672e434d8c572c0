"""Find the nebula server to talk to: explicit settings, kernel env, user env, running servers."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from .client_errors import ServerUnavailable
from .transport import ServerAddress, http_call, run_path

#: Set by the server extension in the environment of the kernels it starts.
KERNEL_URL_ENV = "NEBULA_KERNEL_URL"
#: The kernel secret: a credential scoped to the extension, never the server's own token.
KERNEL_SECRET_ENV = "NEBULA_KERNEL_SECRET"  # noqa: S105 (a variable name)
#: Set by users outside a kernel.
URL_ENV = "NEBULA_URL"
TOKEN_ENV = "NEBULA_TOKEN"  # noqa: S105 (a variable name)

PROBE_TIMEOUT_SECONDS = 3.0

HOW_TO_CONFIGURE = (
    "call nebula_jupyter.connect(url, token), pass --url/--token to the nebula command, "
    f"or set {URL_ENV} (for example http://127.0.0.1:8888/) and {TOKEN_ENV} "
    "(the Jupyter server token or one of c.NebulaApp.tokens); "
    "or start a Jupyter server with the nebula_jupyter extension enabled on this machine"
)


def discover(
    url: str | None = None,
    token: str | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    servers: Callable[[], Iterable[dict[str, Any]]] | None = None,
) -> ServerAddress:
    """Pick the server: explicit URL > kernel env > NEBULA_URL > a running Jupyter server."""
    env = os.environ if environ is None else environ
    if url:
        return ServerAddress(url, token or env.get(TOKEN_ENV) or None, "explicit")
    kernel_url, kernel_secret = env.get(KERNEL_URL_ENV), env.get(KERNEL_SECRET_ENV)
    if kernel_url and kernel_secret:
        return ServerAddress(kernel_url, token or kernel_secret, "kernel")
    if env.get(URL_ENV):
        return ServerAddress(env[URL_ENV], token or env.get(TOKEN_ENV) or None, "environment")
    return _from_running_servers(token, servers or _list_running_servers)


def _list_running_servers() -> Iterable[dict[str, Any]]:
    # Imported late: jupyter_server.serverapp is heavy and rarely needed here.
    from jupyter_server.serverapp import list_running_servers

    return list(list_running_servers())


def _from_running_servers(
    token: str | None, servers: Callable[[], Iterable[dict[str, Any]]]
) -> ServerAddress:
    problems: list[str] = []
    for info in servers():
        try:
            address = ServerAddress(str(info.get("url", "")), token or info.get("token") or None)
        except ValueError:
            continue  # a unix-socket server: not reachable over TCP
        address = ServerAddress(address.url, address.token, "running server")
        problem = probe(address)
        if problem is None:
            return address
        problems.append(f"{address.display_url} ({problem})")
    found = f"; running servers that did not answer: {', '.join(problems)}" if problems else ""
    raise ServerUnavailable(f"no nebula server found{found}. To fix: {HOW_TO_CONFIGURE}.")


def probe(address: ServerAddress) -> str | None:
    """Return why ``address`` does not serve the nebula API, or None when it does."""
    try:
        status, _ = http_call(
            address, "GET", run_path(), query={"status": "running"}, timeout=PROBE_TIMEOUT_SECONDS
        )
    except ServerUnavailable as exc:
        return str(exc)
    if status == 200:
        return None
    if status in (401, 403):
        return f"HTTP {status}: token refused"
    if status == 404:
        return "HTTP 404: the nebula_jupyter extension is not enabled there"
    return f"HTTP {status}"
