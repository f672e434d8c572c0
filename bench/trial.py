"""Run one job on one peer and measure it: times, bytes, server CPU and RSS."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from collections.abc import Callable

from .followers import now
from .peers import Peer, Workload, open_gate
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


async def run_trial(
    peer: Peer,
    workload: Workload,
    clients: int = 1,
    *,
    latency: bool = False,
    timeout: float = 300.0,
    pause_first: float = 0.0,
) -> TrialResult:
    """One job: connect ``clients`` followers, open the gate, wait until every one has ended.

    ``pause_first``: the first client stops reading from its socket for that many seconds
    from the gate (:mod:`bench.measure.stalled_viewer_memory`), then reads again.
    """
    server = peer.server
    rss_before = server.rss()
    started = now()
    job = await peer.prepare(workload, clients, latency=latency)
    connect_seconds = now() - started
    rss_connected = server.rss()
    sampler = RssSampler(server.rss)
    try:
        first = job.followers[0].client if pause_first else None
        if first is not None:
            first.pause()
        cpu0 = server.cpu_seconds()
        bench0 = time.process_time()
        gate = await open_gate(job.gate)
        if first is not None:
            asyncio.get_running_loop().call_later(pause_first, first.resume)
        done = [follower.done for follower in job.followers]
        try:
            ends = await asyncio.wait_for(asyncio.gather(*done), timeout)
        except TimeoutError:
            ends = [f.result() if f.done() else float("nan") for f in done]
        cpu1 = server.cpu_seconds()
        bench1 = time.process_time()
        rss_peak = await sampler.stop()
    finally:
        await sampler.stop()
        await job.close()
    client_seconds = [end - gate for end in ends]
    latencies = [ns for follower in job.followers for ns in follower.latencies_ns]
    return TrialResult(
        peer=peer.name,
        clients=clients,
        expected_bytes=workload.expected_bytes,
        seconds=max(client_seconds),
        client_seconds=client_seconds,
        client_bytes=[follower.bytes for follower in job.followers],
        server_cpu=cpu1 - cpu0,
        rss_before=rss_before,
        rss_peak=rss_peak,
        bench_cpu=bench1 - bench0,
        latencies_ns=latencies,
        connect_seconds=connect_seconds,
        rss_connected=rss_connected,
    )
