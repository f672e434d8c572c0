"""Run one trial on one peer (one job, or many at once) and measure it: times, bytes, server
CPU and RSS."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from collections.abc import AsyncIterator, Callable

from .followers import now
from .peers import Job, Peer, Workload, open_gates
from .sizes import MB

SAMPLE_SECONDS = 0.02


@dataclasses.dataclass
class TrialResult:
    peer: str
    clients: int
    expected_bytes: int
    seconds: float  # gate → the last client's end
    client_seconds: list[float]
    client_bytes: list[int]
    client_messages: list[int]  # output frames each client received
    server_cpu: float
    rss_before: int
    rss_peak: int
    bench_cpu: float
    latencies_ns: list[int]
    connect_seconds: float
    rss_connected: int

    @property
    def complete(self) -> bool:
        return all(count == self.expected_bytes for count in self.client_bytes)

    @property
    def delivered_bytes(self) -> int:
        return sum(self.client_bytes)

    @property
    def rss_growth(self) -> int:
        return self.rss_peak - self.rss_before

    @property
    def throughput(self) -> float:
        """MB/s of what the process wrote, per client (one client) or in aggregate (many)."""
        return self.delivered_bytes / self.seconds / MB if self.seconds > 0 else float("nan")


class RssSampler:
    """Peak RSS of the server process while a trial runs."""

    def __init__(self, read: Callable[[], int]) -> None:
        self._read = read
        self.peak = read()
        self._task = asyncio.get_running_loop().create_task(self._loop())

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(SAMPLE_SECONDS)
            with contextlib.suppress(Exception):
                self.peak = max(self.peak, self._read())

    async def stop(self) -> int:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        with contextlib.suppress(Exception):
            self.peak = max(self.peak, self._read())
        return self.peak


@contextlib.asynccontextmanager
async def prepared(
    peer: Peer, workload: Workload, clients: int = 1, jobs: int = 1, *, latency: bool = False
) -> AsyncIterator[list[Job]]:
    """``jobs`` jobs of ``clients`` connected followers each, writers waiting at their gates;
    closed (and deleted) on exit."""
    ready: list[Job] = []
    try:
        for _ in range(jobs):
            ready.append(await peer.prepare(workload, clients, latency=latency))
        yield ready
    finally:
        for job in ready:
            await job.close()


async def run_trial(
    peer: Peer,
    workload: Workload,
    clients: int = 1,
    *,
    jobs: int = 1,
    latency: bool = False,
    timeout: float = 300.0,
    pause_first: float = 0.0,
) -> TrialResult:
    """One trial: ``jobs`` jobs (runs) of ``clients`` followers each; every gate opens at once,
    then wait until every follower has ended.

    ``pause_first``: the first client stops reading from its socket for that many seconds
    from the gate (:mod:`bench.measure.stalled_viewer_memory`), then reads again.
    """
    server = peer.server
    rss_before = server.rss()
    started = now()
    async with prepared(peer, workload, clients, jobs, latency=latency) as ready:
        connect_seconds = now() - started
        followers = [follower for job in ready for follower in job.followers]
        rss_connected = server.rss()
        sampler = RssSampler(server.rss)
        try:
            first = followers[0].client if pause_first else None
            if first is not None:
                first.pause()
            cpu0 = server.cpu_seconds()
            bench0 = time.process_time()
            gate = await open_gates([job.gate for job in ready])
            if first is not None:
                asyncio.get_running_loop().call_later(pause_first, first.resume)
            done = [follower.done for follower in followers]
            try:
                ends = await asyncio.wait_for(asyncio.gather(*done), timeout)
            except TimeoutError:
                ends = [f.result() if f.done() else float("nan") for f in done]
            cpu1 = server.cpu_seconds()
            bench1 = time.process_time()
            rss_peak = await sampler.stop()
        finally:
            await sampler.stop()
    client_seconds = [end - gate for end in ends]
    latencies = [ns for follower in followers for ns in follower.latencies_ns]
    return TrialResult(
        peer=peer.name,
        clients=len(followers),
        expected_bytes=workload.expected_bytes,
        seconds=max(client_seconds),
        client_seconds=client_seconds,
        client_bytes=[follower.bytes for follower in followers],
        client_messages=[follower.messages for follower in followers],
        server_cpu=cpu1 - cpu0,
        rss_before=rss_before,
        rss_peak=rss_peak,
        bench_cpu=bench1 - bench0,
        latencies_ns=latencies,
        connect_seconds=connect_seconds,
        rss_connected=rss_connected,
    )
