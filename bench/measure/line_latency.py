"""Line latency: how long a line takes from the process's write() to a client.

Row 3 of the results. The process writes one 100-byte line every 10 ms, each stamped with
CLOCK_MONOTONIC just before its write. Peers: nebula, the bare ceiling, Jupyter terminals.
Target: nebula's p99 latency ≤ 2x the ceiling's p99; every line received.
"""

from __future__ import annotations

import dataclasses

from ..context import Context, Measurement
from ..peers import timed
from ..repeat import Metric, Metrics, repeat
from ..results_model import RowResult, every, percentile
from ..trial import run_trial


@dataclasses.dataclass(frozen=True)
class Lines:
    lines: int
    interval: float  # seconds between two lines
    reps: int


FULL = Lines(lines=2000, interval=0.01, reps=3)
QUICK = Lines(lines=200, interval=0.01, reps=2)
PEERS = ["nebula", "ceiling", "terminals"]
LATENCIES = [
    Metric("p50", "p50 latency", "ms", "{:.2f}"),
    Metric("p99", "p99 latency", "ms", "{:.2f}"),
    Metric("max", "max latency", "ms", "{:.2f}"),
]
NOTE = (
    "Latency = CLOCK_MONOTONIC when the line's last byte reached the client minus the time "
    "stamped in the line just before its write(); same host, same clock. Percentiles are "
    "nearest-rank over one job's lines; the table's median/min-max are over repetitions."
)


async def measure(ctx: Context, size: Lines) -> RowResult:
    row = ctx.row(
        f"{size.lines:,} lines, one every {size.interval * 1000:g} ms, "
        "each carrying its write time",
        "p99 write→receive latency ≤ 2x the ceiling's p99",
    )
    workload = timed(size.lines, size.interval)

    async def trial(name: str, rep: int) -> Metrics:
        result = await run_trial(await ctx.peer(name), workload, 1, latency=True)
        ms = [ns / 1e6 for ns in result.latencies_ns]
        return {
            "p50": percentile(ms, 0.50),
            "p99": percentile(ms, 0.99),
            "max": max(ms) if ms else float("nan"),
            "seen": len(ms) / size.lines,
        }

    samples = await repeat(ctx, size.reps, PEERS, trial, "p99 {p99:.2f} ms")
    row.series = samples.series(*LATENCIES)
    row.checks = [
        samples.paired("nebula p99 / ceiling p99", "p99", "nebula", "ceiling", "<=", 2),
        every("nebula lines received", min(samples.of("nebula", "seen"))),
    ]
    row.notes.append(NOTE)
    await ctx.profile_trials(row, await ctx.peer("nebula"), 1, workload, 1, latency=True)
    return row


MEASUREMENT = Measurement(3, __name__, FULL, QUICK, measure)
