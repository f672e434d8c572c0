"""Many runs at once: 200 concurrent runs printing steadily, one viewer each; server CPU per GB.

Row 9 of the results. Every run writes the same bytes at a steady pace (``bench/writer.py
paced``); each has one WebSocket viewer that reads to the end (no window). All the writers wait
at their gates until every viewer is connected, then start together. Peers: nebula (with
``c.NebulaApp.max_concurrent_runs`` raised to the number of runs) and the bare ceiling, a fresh
server per trial. Target: nebula's server CPU-seconds per GB delivered ≤ 1.5x the ceiling's;
every viewer gets every byte.
"""

from __future__ import annotations

import asyncio
import dataclasses

from ..context import Context, Measurement
from ..peers import Workload, open_gates, paced
from ..repeat import Metric, Metrics, repeat
from ..results_model import RowResult, every
from ..sizes import MiB
from ..trial import prepared, run_trial


@dataclasses.dataclass(frozen=True)
class ManyRuns:
    runs: int  # at once, one viewer each
    bytes: int  # each run writes this much ...
    seconds: float  # ... spread evenly over about this long
    reps: int


FULL = ManyRuns(runs=200, bytes=4 * MiB, seconds=10.0, reps=3)
QUICK = ManyRuns(runs=40, bytes=1 * MiB, seconds=3.0, reps=2)
PEERS = ["nebula", "ceiling"]
WRITE_LINES = 160  # 16,000 bytes a write
CPU_GB = Metric("cpu_gb", "server CPU per GB delivered", "s/GB", "{:.2f}")
# The other rows of the results, per peer: key, label, unit, format.
OTHERS = {
    "cpu_frame": ("server CPU per output frame delivered", "µs", "{:.0f}"),
    "frames": ("output frames per viewer", "", "{:.0f}"),
    "cpu_share": ("server CPU (share of one core)", "", "{:.0%}"),
    "seconds": ("gate → last viewer done", "s", "{:.2f}"),
    "throughput": ("aggregate throughput", "MB/s", "{:.0f}"),
    "growth": ("server RSS growth (peak - before the runs)", "MiB", "{:.0f}"),
    "bench_cpu": ("bench client CPU (share of one core)", "", "{:.0%}"),
    "whole": ("viewers with every byte", "", "{:.1%}"),
}
METRICS = [CPU_GB, *(Metric(key, *shown) for key, shown in OTHERS.items())]
NOTE = (
    "Each run is `bench/writer.py paced`: {bytes} in writes of {lines} 100-byte lines, one "
    "write every {interval:.1f} ms on an absolute schedule (so the pace holds when the "
    "machine is busy, catching up without sleeping). Runs are created and their viewers "
    "connected one after another; every writer waits at its gate FIFO, and all gates are "
    "released at once when the last viewer is connected, so spawning and connecting are "
    "outside the times and the CPU counted. Server CPU is psutil user+system of the server "
    "process alone (not the writers) from the release to the last viewer's end; GB are the "
    "bytes the viewers received (10⁹). A fresh server per trial, for both peers (so RSS "
    "growth is the trial's); nebula's with max_concurrent_runs = {runs} (the ceiling has no "
    "limit). A profile covers the release → last end window of one more nebula trial, with "
    "py-spy --gil: without it (a waitpid thread per run, asyncio's child watcher), py-spy put "
    "about half its samples in the /proc scan at each run's end, which, timed separately, "
    "took 0.1-0.2 s of CPU for all 200 ends."
)
FRAMES_NOTE = (
    "Frames: each run makes {writes} writes; a server that keeps up forwards each as its own "
    "frame, one that lags reads several at once (fewer, larger frames), which costs it less CPU "
    "per GB. Compare CPU per GB at similar frames per viewer; CPU per frame shows the "
    "per-chunk cost."
)


async def profile_window(ctx: Context, row: RowResult, workload: Workload, size: ManyRuns) -> None:
    """If wanted, py-spy a fresh nebula server from the gates' release to the last viewer's
    end only (spawning, connecting and deleting the runs are not in the profile)."""
    if not ctx.wants_profile(row):
        return
    config = {"max_concurrent_runs": size.runs}
    async with (
        ctx.fresh_peer("nebula", **config) as peer,
        prepared(peer, workload, 1, size.runs) as jobs,
    ):

        async def window() -> None:
            await open_gates([job.gate for job in jobs])
            done = [follower.done for job in jobs for follower in job.followers]
            await asyncio.wait_for(asyncio.gather(*done), timeout(size))

        await ctx.profile_nebula(row, peer.server, window, gil=True)


def timeout(size: ManyRuns) -> float:
    return 120 + 10 * size.seconds


async def measure(ctx: Context, size: ManyRuns) -> RowResult:
    mib = size.bytes / MiB
    row = ctx.row(
        f"{size.runs} concurrent runs, each printing {mib:g} MiB over about "
        f"{size.seconds:g} s, one viewer each",
        "server CPU-seconds per GB delivered ≤ 1.5x the ceiling's; every viewer gets every byte",
    )
    workload = paced(size.bytes, size.seconds, WRITE_LINES)
    config: dict[str, dict[str, int]] = {
        "nebula": {"max_concurrent_runs": size.runs},
        "ceiling": {},
    }

    async def trial(name: str, rep: int) -> Metrics:
        async with ctx.fresh_peer(name, **config[name]) as peer:
            result = await run_trial(peer, workload, 1, jobs=size.runs, timeout=timeout(size))
        whole = sum(1 for count in result.client_bytes if count == result.expected_bytes)
        frames = sum(result.client_messages)
        return {
            "cpu_gb": result.server_cpu / (result.delivered_bytes / 1e9),
            "cpu_frame": result.server_cpu / frames * 1e6 if frames else float("nan"),
            "frames": frames / size.runs,
            "cpu_share": result.server_cpu / result.seconds,
            "seconds": result.seconds,
            "throughput": result.throughput,
            "growth": result.rss_growth / MiB,
            "bench_cpu": result.bench_cpu / result.seconds,
            "whole": whole / size.runs,
        }

    progress = "{cpu_gb:.2f} s/GB, {seconds:.1f} s, RSS +{growth:.0f} MiB, {whole:.0%} whole"
    samples = await repeat(ctx, size.reps, PEERS, trial, progress)
    row.series = samples.series(*METRICS, by_peer=True)
    row.checks = [
        samples.paired("nebula / ceiling CPU per GB", "cpu_gb", "nebula", "ceiling", "<=", 1.5),
        every("nebula viewers with every byte", min(samples.of("nebula", "whole"))),
    ]
    interval = workload.interval * 1000
    writes = -(-workload.bytes // (WRITE_LINES * 100))
    row.notes += [
        NOTE.format(bytes=f"{mib:g} MiB", lines=WRITE_LINES, interval=interval, runs=size.runs),
        FRAMES_NOTE.format(writes=writes),
    ]
    await profile_window(ctx, row, workload, size)
    return row


MEASUREMENT = Measurement(9, __name__, FULL, QUICK, measure)
