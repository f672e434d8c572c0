"""What every measurement gets (:class:`Context`) and declares (:class:`Measurement`).

The context holds the servers the measurements share (each started once, on first use), starts
fresh ones on demand, keeps the log, and profiles the nebula server with py-spy when asked.
"""

from __future__ import annotations

import contextlib
import dataclasses
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any, Generic, TypeVar

from . import profiling
from .cluster import NebulaDaskServer
from .peers import CeilingPeer, NebulaDaskPeer, NebulaPeer, Peer, TerminalsPeer, Workload
from .results_model import RowResult
from .servers import CeilingServer, Server, nebula_server, terminals_server
from .trial import run_trial

# Each makes a server in a work dir; a factory may take configuration (nebula_server does).
SERVER_FACTORIES: dict[str, Callable[..., Server]] = {
    "nebula": nebula_server,
    "ceiling": CeilingServer,
    "terminals": terminals_server,
    "nebula-dask": NebulaDaskServer,  # with a Dask cluster of its own
}
PEER_CLASSES: dict[str, type[Peer]] = {
    "nebula": NebulaPeer,
    "ceiling": CeilingPeer,
    "terminals": TerminalsPeer,
    "nebula-dask": NebulaDaskPeer,
}
PROFILES = ("missed", "always", "never")


class Context:
    """Servers shared by the measurements, fresh ones on demand, the log and profiling."""

    def __init__(self, mode: str, workdir: Path, rawdir: Path, profile: str) -> None:
        self.mode = mode  # "full" or "quick"
        self.workdir = workdir
        self.rawdir = rawdir
        self.profile = profile  # one of PROFILES
        self.measuring: Measurement[Any] | None = None
        self._shared: dict[str, Server] = {}
        self.started = time.monotonic()

    def log(self, message: str) -> None:
        print(f"[{time.monotonic() - self.started:7.1f}s] {message}", flush=True)

    @property
    def label(self) -> str:
        """The name of the measurement running now, for the log."""
        return self.measuring.name if self.measuring is not None else "bench"

    def row(self, title: str, target: str) -> RowResult:
        """The results row of the measurement running now."""
        assert self.measuring is not None
        return RowResult(self.measuring.number, title, target)

    async def shared(self, name: str) -> Server:
        if name not in self._shared:
            self._shared[name] = await SERVER_FACTORIES[name](self.workdir).start()
        return self._shared[name]

    async def peer(self, name: str) -> Peer:
        """A peer on its shared server."""
        return PEER_CLASSES[name](await self.shared(name))

    async def fresh(self, name: str, **config: Any) -> Server:
        return await SERVER_FACTORIES[name](self.workdir, **config).start()

    @contextlib.asynccontextmanager
    async def fresh_peer(self, name: str, **config: Any) -> AsyncIterator[Peer]:
        """A peer on a server of its own, stopped on exit (memory measured per job).

        ``config`` goes to the server's factory (``c.NebulaApp.*`` for nebula)."""
        server = await self.fresh(name, **config)
        try:
            yield PEER_CLASSES[name](server)
        finally:
            await server.stop()

    async def close(self) -> None:
        for server in self._shared.values():
            await server.stop()
        self._shared.clear()

    def wants_profile(self, row: RowResult) -> bool:
        return self.profile == "always" or (self.profile == "missed" and not row.met)

    async def profile_nebula(
        self,
        row: RowResult,
        server: Server,
        workload: Callable[[], Awaitable[object]],
        gil: bool = False,
    ) -> None:
        """If wanted, py-spy the nebula server while ``workload`` runs again, into the row
        (``gil``: only samples holding the GIL, see :func:`bench.profiling.record`)."""
        if not self.wants_profile(row):
            return
        out = self.rawdir / f"row{row.number}-nebula.pyspy.txt"
        self.log(f"{self.label}: profiling the nebula server with py-spy")
        try:
            path = await profiling.record(server.pid, out, workload, gil=gil)
        except Exception as exc:
            row.profile = f"py-spy failed: {exc}"
            return
        if path is None:
            row.profile = "py-spy is not installed (pip install -r bench/requirements.txt)."
            return
        mode = " (py-spy --gil: samples holding the GIL only)" if gil else ""
        row.profile = f"raw stacks: {path.name}{mode}\n\n" + profiling.summarize(path)

    async def profile_trials(
        self,
        row: RowResult,
        peer: Peer,
        times: int,
        workload: Workload,
        clients: int,
        **options: Any,
    ) -> None:
        """If wanted, profile ``peer``'s (nebula) server over ``times`` more trials."""

        async def again() -> None:
            for _ in range(times):
                await run_trial(peer, workload, clients, **options)

        await self.profile_nebula(row, peer.server, again)


S = TypeVar("S")


@dataclasses.dataclass(frozen=True)
class Measurement(Generic[S]):
    """One measurement: its module, its row in the results, its sizes, and how to run it."""

    number: int  # its row in bench/results/*.md, and its alias for --only
    module: str  # the measuring module's __name__
    full: S  # sizes and repetitions of the full run
    quick: S  # of --quick: the same shape, smaller and fewer
    run: Callable[[Context, S], Awaitable[RowResult]]

    @property
    def name(self) -> str:
        return self.module.rsplit(".", 1)[-1]

    @property
    def summary(self) -> str:
        """The first line of the measuring module's docstring."""
        doc = sys.modules[self.module].__doc__ or ""
        return doc.strip().split("\n", 1)[0]

    def size(self, mode: str) -> S:
        return self.quick if mode == "quick" else self.full

    async def __call__(self, ctx: Context) -> RowResult:
        ctx.measuring = self
        try:
            return await self.run(ctx, self.size(ctx.mode))
        finally:
            ctx.measuring = None
