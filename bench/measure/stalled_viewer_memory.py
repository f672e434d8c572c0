"""A stalled viewer: server memory, and the other viewer's pace, while one client stops reading.

Row 4 of the results. One client stops reading its socket for a while as the process writes
bulk output, a second client reads normally; each job runs on a fresh server, so RSS growth is
the job's. Peers: nebula (the ceiling for reference: it has no flow control). Target: nebula's
RSS growth ≤ 8 MiB, the normal client within 1.1x its time alone (issue 14), the paused client then
receives every byte.
"""

from __future__ import annotations

import dataclasses

from ..context import Context, Measurement
from ..peers import Workload, bulk
from ..repeat import Metric, Metrics, ratios, repeat, rotate
from ..results_model import Check, RowResult, every
from ..sizes import MiB
from ..trial import run_trial


@dataclasses.dataclass(frozen=True)
class Stall:
    bytes: int  # written while the paused client does not read
    pause: float  # seconds the paused client does not read, from the gate
    reps: int


FULL = Stall(bytes=200 * MiB, pause=20.0, reps=5)
QUICK = Stall(bytes=32 * MiB, pause=3.0, reps=1)
PEERS = ["nebula", "ceiling"]
GROWTH = Metric("growth", "server RSS growth (peak - before)", "MiB", "{:.1f}")
METRICS = [
    Metric("alone", "normal client, alone", "s", "{:.2f}"),
    Metric("normal", "normal client, next to the paused one", "s", "{:.2f}"),
    Metric("paused", "paused client, until its last byte", "s", "{:.2f}"),
    GROWTH,
]
PROGRESS = "alone {alone:.2f}s normal {normal:.2f}s RSS +{growth:.0f} MiB"


async def one_peer(ctx: Context, name: str, rep: int, workload: Workload, pause: float) -> Metrics:
    """The normal client alone, and next to a paused one: two jobs, a fresh server each."""
    metrics: Metrics = {}
    for mode in rotate(["alone", "paused"], rep):
        async with ctx.fresh_peer(name) as peer:
            if mode == "alone":
                metrics["alone"] = (await run_trial(peer, workload, 1)).seconds
            else:
                result = await run_trial(peer, workload, 2, pause_first=pause)
                metrics.update(
                    paused=result.client_seconds[0],
                    normal=result.client_seconds[1],
                    growth=result.rss_growth / MiB,
                    complete=float(result.complete),
                )
    return metrics


async def measure(ctx: Context, size: Stall) -> RowResult:
    row = ctx.row(
        f"one client stops reading for {size.pause:g} s while {size.bytes // MiB} MiB "
        "are written, a second client reads normally",
        "server RSS growth ≤ 8 MiB; the normal client finishes within 1.1x its time alone; "
        "the paused client then receives every byte",
    )
    workload = bulk(size.bytes)

    async def trial(name: str, rep: int) -> Metrics:
        return await one_peer(ctx, name, rep, workload, size.pause)

    samples = await repeat(ctx, size.reps, PEERS, trial, PROGRESS)
    row.series = samples.series(*METRICS, by_peer=True)
    normal_over_alone = ratios(samples.of("nebula", "normal"), samples.of("nebula", "alone"))
    row.checks = [
        samples.bound("nebula server RSS growth", "nebula", GROWTH, "<=", 8),
        Check("nebula normal client: with paused peer / alone", normal_over_alone, "<=", 1.1),
        every("nebula paused client received every byte", samples.share("nebula", "complete")),
    ]
    row.notes.append(
        "The paused client calls transport.pause_reading() before the gate opens and resumes "
        f"{size.pause:g} s after it: the kernel socket buffers fill and the server's writes "
        "back up. RSS is sampled every 20 ms (psutil) on a fresh server per job. The ceiling is "
        "shown for reference (no target): it has no flow control and buffers for the paused client."
    )
    if ctx.wants_profile(row):
        async with ctx.fresh_peer("nebula") as peer:
            await ctx.profile_trials(row, peer, 1, workload, 2, pause_first=size.pause)
    return row


MEASUREMENT = Measurement(4, __name__, FULL, QUICK, measure)
