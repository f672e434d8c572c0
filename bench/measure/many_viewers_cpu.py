"""Many viewers of one run: aggregate throughput and server CPU per GB delivered.

Row 2 of the results. 100 clients follow one run writing bulk output. Peers: nebula, the bare
ceiling. Target: nebula's aggregate throughput ≥ 0.7x the ceiling's, its server CPU-seconds
per GB delivered ≤ 2x the ceiling's; every client gets every byte.
"""

from __future__ import annotations

from ..context import Context, Measurement
from ..peers import bulk
from ..repeat import Metric, Metrics, repeat
from ..results_model import RowResult, every
from ..sizes import Fanout, MiB
from ..trial import run_trial

FULL = Fanout(clients=100, bytes=16 * MiB, reps=5)
QUICK = Fanout(clients=100, bytes=2 * MiB, reps=3)
PEERS = ["nebula", "ceiling"]
THROUGHPUT = Metric("throughput", "aggregate throughput", "MB/s", "{:.0f}")
CPU_GB = Metric("cpu_gb", "server CPU per GB delivered", "s/GB", "{:.2f}")
BENCH_CPU = Metric("bench_cpu", "bench client CPU (share of one core)", "", "{:.0%}")
NOTE = (
    "The bench's clients run in one process; its CPU share is shown so a client-bound "
    "measurement is visible (both peers are measured with the same clients)."
)


async def measure(ctx: Context, size: Fanout) -> RowResult:
    row = ctx.row(
        f"{size.clients} clients on one run, {size.bytes // MiB} MiB",
        "aggregate throughput ≥ 0.7x the ceiling; "
        "server CPU-seconds per GB delivered ≤ 2x the ceiling's",
    )
    workload = bulk(size.bytes)

    async def trial(name: str, rep: int) -> Metrics:
        result = await run_trial(await ctx.peer(name), workload, size.clients)
        return {
            "throughput": result.throughput,
            "cpu_gb": result.server_cpu / (result.delivered_bytes / 1e9),
            "bench_cpu": result.bench_cpu / result.seconds,
            "complete": float(result.complete),
        }

    samples = await repeat(ctx, size.reps, PEERS, trial, "{throughput:.0f} MB/s")
    row.series = samples.series(THROUGHPUT, CPU_GB, BENCH_CPU)
    row.checks = [
        samples.paired(
            "nebula / ceiling aggregate throughput", "throughput", "nebula", "ceiling", ">=", 0.7
        ),
        samples.paired("nebula / ceiling CPU per GB", "cpu_gb", "nebula", "ceiling", "<=", 2),
        every(
            "nebula jobs complete (every client, every byte)", samples.share("nebula", "complete")
        ),
    ]
    row.notes.append(NOTE)
    await ctx.profile_trials(row, await ctx.peer("nebula"), 3, workload, size.clients)
    return row


MEASUREMENT = Measurement(2, __name__, FULL, QUICK, measure)
