"""Fixtures for the client, API, CLI and kernel tests: server address, a cutting proxy, CLI runs."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from nebula_jupyter.client import NebulaClient

REPO_ROOT = Path(__file__).resolve().parents[2]
NEBULA_ENV = ("NEBULA_URL", "NEBULA_TOKEN", "NEBULA_KERNEL_URL", "NEBULA_KERNEL_SECRET")


@dataclass(frozen=True)
class Server:
    """How to reach the pytest-jupyter server from outside its event loop."""

    url: str
    token: str
    port: int


@pytest.fixture
def server(jp_serverapp: Any, http_server: Any, jp_http_port: int, jp_base_url: str) -> Server:
    """Return the test server's base URL (with its odd base path) and token, once it listens."""
    return Server(
        url=f"http://127.0.0.1:{jp_http_port}{jp_base_url}",
        token=jp_serverapp.identity_provider.token,
        port=jp_http_port,
    )


@pytest.fixture
def client(server: Server) -> NebulaClient:
    """Return a blocking client for the test server (call it through asyncio.to_thread)."""
    return NebulaClient(server.url, server.token, timeout_seconds=10, reconnect_seconds=10)


@pytest.fixture(autouse=True)
def _restore_nebula_env() -> Any:
    """Undo the kernel variables the extension sets, so no test sees a previous server's."""
    saved = {name: os.environ.get(name) for name in NEBULA_ENV}
    yield
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def clean_env(**extra: str) -> dict[str, str]:
    """Return this process's environment without nebula variables, plus ``extra``."""
    env = {key: value for key, value in os.environ.items() if key not in NEBULA_ENV}
    # The CLI runs from a checkout that is not installed into the environment.
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    env.update(extra)
    return env


@dataclass
class CliResult:
    """What a finished `nebula` process did."""

    code: int
    stdout: bytes
    stderr: bytes


async def start_cli(*args: str, env: dict[str, str] | None = None) -> asyncio.subprocess.Process:
    """Start `python -m nebula_jupyter.cli ARGS` as a real process with piped output."""
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "nebula_jupyter.cli",
        *args,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env if env is not None else clean_env(),
    )


async def run_cli(*args: str, env: dict[str, str] | None = None, timeout: float = 60) -> CliResult:
    """Run the CLI to completion and return its exit code and output."""
    process = await start_cli(*args, env=env)
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout)
    assert process.returncode is not None
    return CliResult(process.returncode, stdout, stderr)


@dataclass
class Cli:
    """Runs `nebula` subcommands against the test server as real processes."""

    server: Server

    def argv(self, subcommand: str, *args: str, auth: bool = True) -> list[str]:
        """Return the arguments with --url/--token placed right after the subcommand."""
        flags = ["--url", self.server.url, "--token", self.server.token] if auth else []
        return [subcommand, *flags, *args]

    async def start(self, subcommand: str, *args: str, **kwargs: Any) -> Any:
        """Start `nebula SUBCOMMAND --url U --token T ARGS...`."""
        env = kwargs.pop("env", None)
        return await start_cli(*self.argv(subcommand, *args, **kwargs), env=env)

    async def run(self, subcommand: str, *args: str, **kwargs: Any) -> CliResult:
        """Run `nebula SUBCOMMAND --url U --token T ARGS...` to completion."""
        env = kwargs.pop("env", None)
        return await run_cli(*self.argv(subcommand, *args, **kwargs), env=env)


@pytest.fixture
def cli(server: Server) -> Cli:
    """Return a runner of the `nebula` command against the test server."""
    return Cli(server)


@dataclass
class CuttingProxy:
    """A TCP proxy that abruptly drops chosen WebSocket connections after some bytes.

    ``budgets`` lists, for the first WebSocket connections in order, how many bytes of
    server-to-client data each may carry before both sides are cut; later ones pass freely.
    """

    upstream_port: int
    budgets: list[int] = field(default_factory=list)
    port: int = 0
    websocket_connections: int = 0
    cuts: int = 0
    _server: asyncio.Server | None = None
    _writers: set[asyncio.StreamWriter] = field(default_factory=set)

    async def start(self) -> None:
        """Listen on a free local port."""
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Stop listening and drop every open connection."""
        if self._server is not None:
            self._server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        if self._server is not None:
            await self._server.wait_closed()

    def url(self, base_url: str) -> str:
        """Return the server base URL as seen through the proxy."""
        return f"http://127.0.0.1:{self.port}{base_url}"

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        self._writers.update((writer, up_writer))
        head = await reader.read(65536)
        budget: int | None = None
        if b"/stream" in head.split(b"\r\n", 1)[0]:
            index = self.websocket_connections
            self.websocket_connections += 1
            budget = self.budgets[index] if index < len(self.budgets) else None
        up_writer.write(head)
        await asyncio.gather(
            self._pipe(reader, up_writer, None, (writer, up_writer)),
            self._pipe(up_reader, writer, budget, (writer, up_writer)),
        )
        self._writers.difference_update((writer, up_writer))

    async def _pipe(
        self,
        source: asyncio.StreamReader,
        sink: asyncio.StreamWriter,
        budget: int | None,
        both: tuple[asyncio.StreamWriter, asyncio.StreamWriter],
    ) -> None:
        # The budget counts WebSocket frames only: the HTTP handshake answer always passes.
        head = b"" if budget is not None else None
        with contextlib.suppress(OSError, asyncio.IncompleteReadError):
            while data := await source.read(65536):
                if head is not None:
                    head += data
                    end = head.find(b"\r\n\r\n")
                    if end < 0:
                        continue
                    sink.write(head[: end + 4])
                    data, head = head[end + 4 :], None
                if budget is not None and len(data) >= budget:
                    # Deliver part of a frame, then vanish without a close frame or FIN.
                    sink.write(data[:budget])
                    await sink.drain()
                    self.cuts += 1
                    for writer in both:
                        writer.transport.abort()
                    return
                if budget is not None:
                    budget -= len(data)
                sink.write(data)
                await sink.drain()
        with contextlib.suppress(OSError):
            sink.close()


@pytest.fixture
def proxy(server: Server, jp_asyncio_loop: asyncio.AbstractEventLoop) -> Any:
    """Return a started CuttingProxy in front of the test server (set ``budgets`` before use)."""
    # pytest-jupyter runs async tests on jp_asyncio_loop itself, so the proxy lives there too.
    cutting = CuttingProxy(upstream_port=server.port)
    jp_asyncio_loop.run_until_complete(cutting.start())
    yield cutting
    jp_asyncio_loop.run_until_complete(cutting.stop())
