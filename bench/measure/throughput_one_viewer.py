"""One viewer's throughput: one client follows a run writing bulk output as fast as it can.

Row 1 of the results. Peers: nebula, the bare ceiling, Jupyter terminals. Target: nebula's
throughput ≥ 0.7x the ceiling's and ≥ 4x the terminals'; every job complete.
"""

from __future__ import annotations

from ..context import Context, Measurement
from ..peers import Peer, Workload, bulk
from ..repeat import Metric, Metrics, repeat
from ..results_model import RowResult, every
from ..sizes import Bulk, MiB
from ..trial import run_trial

FULL = Bulk(bytes=64 * MiB, reps=10)
QUICK = Bulk(bytes=16 * MiB, reps=5)
PEERS = ["nebula", "ceiling", "terminals"]
THROUGHPUT = Metric("throughput", "throughput", "MB/s", "{:.0f}")
CPU = Metric("cpu", "server CPU per job", "s", "{:.3f}")


async def one_viewer(peer: Peer, workload: Workload) -> Metrics:
    """One job followed by one client: its throughput, server CPU and completeness."""
    result = await run_trial(peer, workload, 1)
    return {
        "throughput": result.throughput,
        "cpu": result.server_cpu,
        "complete": float(result.complete),
    }


async def measure(ctx: Context, size: Bulk) -> RowResult:
    row = ctx.row(
        f"one client, {size.bytes // MiB} MiB of 100-byte base64 lines",
        "throughput ≥ 0.7x the bare ceiling and ≥ 4x Jupyter terminals",
    )
    workload = bulk(size.bytes)

    async def trial(name: str, rep: int) -> Metrics:
        return await one_viewer(await ctx.peer(name), workload)

    samples = await repeat(ctx, size.reps, PEERS, trial, "{throughput:.0f} MB/s")
    row.series = samples.series(THROUGHPUT, CPU)
    row.checks = [
        samples.paired("nebula / ceiling throughput", "throughput", "nebula", "ceiling", ">=", 0.7),
        samples.paired(
            "nebula / terminals throughput", "throughput", "nebula", "terminals", ">=", 4
        ),
        every("nebula jobs complete", samples.share("nebula", "complete")),
    ]
    await ctx.profile_trials(row, await ctx.peer("nebula"), 5, workload, 1)
    return row


MEASUREMENT = Measurement(1, __name__, FULL, QUICK, measure)
