"""One job on one peer: start the gated writer, connect the clients, open the gate, wait.

Every peer gets the same process (``bench/writer.py``) and the same clients
(:mod:`bench.wsclient`); only the server and its wire format differ.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import errno
import os
import secrets
import tempfile
import time
from collections.abc import Awaitable, Callable

from . import wsclient
from .followers import Follower, StreamFollower, TerminalFollower, now
from .servers import PYTHON, REPO, Server

WRITER = str(REPO / "bench" / "writer.py")
CONNECT_CONCURRENCY = 32


@dataclasses.dataclass(frozen=True)
class Workload:
    """``bulk`` (bytes as fast as possible), ``timed`` (a line every interval) or ``paced``
    (bytes in writes of ``lines`` lines, one write every interval)."""

    mode: str
    bytes: int = 0
    lines: int = 0
    interval: float = 0.0

    @property
    def expected_bytes(self) -> int:
        return self.lines * 100 if self.mode == "timed" else self.bytes

    def args(self) -> list[str]:
        if self.mode == "bulk":
            return ["bulk", str(self.bytes)]
        if self.mode == "paced":
            return ["paced", str(self.bytes), str(self.lines), str(self.interval)]
        return ["timed", str(self.lines), str(self.interval)]


def bulk(size: int) -> Workload:
    return Workload("bulk", bytes=size - size % 100)


def timed(lines: int, interval: float) -> Workload:
    return Workload("timed", lines=lines, interval=interval)


def paced(size: int, seconds: float, lines: int = 80) -> Workload:
    """``size`` bytes spread evenly over about ``seconds``, in writes of ``lines`` lines."""
    size -= size % 100
    writes = -(-size // (lines * 100))
    return Workload("paced", bytes=size, lines=lines, interval=seconds / writes)


def make_gate() -> str:
    path = os.path.join(tempfile.mkdtemp(prefix="gate-"), "gate")
    os.mkfifo(path)
    return path


async def hold_gate(path: str, timeout: float = 60.0) -> int:
    """Open the gate FIFO for writing once its writer waits at it; return the descriptor.

    The writer then waits for the end of the file: it goes when the descriptor is closed.
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            return os.open(path, os.O_WRONLY | os.O_NONBLOCK)
        except OSError as exc:
            if exc.errno != errno.ENXIO or time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.002)  # the writer has not reached the gate yet


async def open_gates(paths: list[str], timeout: float = 60.0) -> float:
    """Release the writers blocked on the gate FIFOs at once (every writer waits at its gate
    first, then every gate is closed); return the time they were released."""
    fds: list[int] = []
    try:
        for path in paths:
            fds.append(await hold_gate(path, timeout))
    finally:
        released = now()
        for fd in fds:
            os.close(fd)
        for path in paths:
            remove_gate(path)  # the writers hold them open; the names are no longer needed
    return released


async def open_gate(path: str, timeout: float = 60.0) -> float:
    """Release the writer blocked on the gate FIFO; return the time it was released."""
    return await open_gates([path], timeout)


def remove_gate(path: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)
        os.rmdir(os.path.dirname(path))


def writer_argv(gate: str, workload: Workload, sentinel: str = "") -> list[str]:
    argv = [PYTHON, WRITER, "--gate", gate]
    if sentinel:
        argv += ["--sentinel", sentinel]
    return argv + workload.args()


@dataclasses.dataclass
class Job:
    gate: str
    workload: Workload
    followers: list[Follower]
    server: Server
    delete_path: str | None = None  # what to DELETE once the job is over

    async def close(self) -> None:
        for follower in self.followers:
            if follower.client is not None:
                follower.client.close()
        if self.delete_path is not None:
            await self.server.http("DELETE", self.delete_path)


async def connect_many(
    count: int, connect_one: Callable[[int], Awaitable[Follower]]
) -> list[Follower]:
    limit = asyncio.Semaphore(CONNECT_CONCURRENCY)

    async def one(index: int) -> Follower:
        async with limit:
            return await connect_one(index)

    return list(await asyncio.gather(*(one(index) for index in range(count))))


async def _attach(server: Server, path: str, follower: Follower) -> Follower:
    follower.client = await wsclient.connect("127.0.0.1", server.port, path, follower.on_message)
    # A connection that drops before the end-of-run message ends the follower too (its count
    # then shows what was lost), rather than leaving the trial waiting for its timeout.
    follower.client.closed.add_done_callback(lambda _: follower.lost())
    return follower


class Peer:
    name = ""

    def __init__(self, server: Server) -> None:
        self.server = server

    async def prepare(self, workload: Workload, clients: int, *, latency: bool = False) -> Job:
        raise NotImplementedError


class StreamPeer(Peer):
    """A server speaking nebula's stream protocol: create a job, follow its stream."""

    async def create(self, argv: list[str]) -> tuple[str, str | None]:
        """Start the writer; return the stream path (with token) and what to DELETE after."""
        raise NotImplementedError

    async def prepare(self, workload: Workload, clients: int, *, latency: bool = False) -> Job:
        gate = make_gate()
        path, delete_path = await self.create(writer_argv(gate, workload))
        followers = await connect_many(
            clients, lambda _: _attach(self.server, path, StreamFollower(latency=latency))
        )
        return Job(gate, workload, followers, self.server, delete_path)


class NebulaPeer(StreamPeer):
    """nebula_jupyter through its public REST + WebSocket API."""

    name = "nebula"
    options: dict[str, object] = {}  # what the run's POST adds to the command

    async def create(self, argv: list[str]) -> tuple[str, str | None]:
        body = {"command": argv, **self.options}
        record = await self.server.json("POST", "/api/nebula/runs", body)
        run = f"/api/nebula/runs/{record['id']}"
        return f"{run}/stream?token={self.server.token}", run


class NebulaTtyPeer(NebulaPeer):
    """nebula_jupyter with the run in terminal mode: stdout through a pseudo-terminal."""

    name = "nebula-tty"
    options = {"tty": True}


class NebulaDaskPeer(NebulaPeer):
    """nebula_jupyter with the run on a Dask worker (``"executor": "dask"``): an agent on the
    worker runs the writer and streams its output back to the server over one WebSocket."""

    name = "nebula-dask"
    options = {"executor": "dask"}


class CeilingPeer(StreamPeer):
    """The bare Tornado ceiling (:mod:`bench.ceiling`)."""

    name = "ceiling"

    async def create(self, argv: list[str]) -> tuple[str, str | None]:
        created = await self.server.json("POST", "/runs", {"argv": argv})
        return f"/runs/{created['id']}/stream?token={self.server.token}", None


class TerminalsPeer(Peer):
    """jupyter-server-terminals + terminado over its real WebSocket; a new terminal per job."""

    name = "terminals"

    async def prepare(self, workload: Workload, clients: int, *, latency: bool = False) -> Job:
        gate = make_gate()
        nonce = secrets.token_hex(6)
        term = await self.server.json("POST", "/api/terminals")
        path = f"/terminals/websocket/{term['name']}?token={self.server.token}"
        followers = await connect_many(
            clients,
            lambda _: _attach(self.server, path, TerminalFollower(nonce, latency=latency)),
        )
        command = " ".join(writer_argv(gate, workload, sentinel=nonce))
        first = followers[0]
        assert first.client is not None
        # Wide enough that readline never wraps (and never splits the marker) while echoing.
        first.client.send_text('["set_size", 50, 1000, 600, 8000]')
        first.client.send_text(f'["stdin", "{command} #{nonce}-typed\\r"]')
        # The echoed command line is in every client's stream before the gate opens, so the
        # count after the gate is the process's output alone.
        await asyncio.wait_for(
            asyncio.gather(*(f.echoed for f in followers if isinstance(f, TerminalFollower))),
            60,
        )
        for follower in followers:
            follower.mark_gate()

        return Job(gate, workload, followers, self.server, f"/api/terminals/{term['name']}")
