"""Terminal mode's cost: one viewer of a run writing bulk output through a pty vs through a pipe.

Row 10 of the results. Peers: nebula with the run's stdout a pipe, and the same server with
the run in terminal mode (``"tty": true``). A pty moves data through the kernel's line
discipline in small pieces, so it is expected to be slower; this row says by how much.
Target: none (reported); every job complete, bytes exact.
"""

from __future__ import annotations

from ..context import Context, Measurement
from ..peers import NebulaTtyPeer, bulk
from ..repeat import Metric, Metrics, repeat
from ..results_model import RowResult, every
from ..sizes import Bulk, MiB
from ..trial import run_trial

FULL = Bulk(bytes=64 * MiB, reps=7)
QUICK = Bulk(bytes=16 * MiB, reps=3)
PEERS = ["nebula", "nebula-tty"]
THROUGHPUT = Metric("throughput", "throughput", "MB/s", "{:.0f}")
CPU = Metric("cpu", "server CPU per job", "s", "{:.3f}")


async def measure(ctx: Context, size: Bulk) -> RowResult:
    row = ctx.row(
        f"one client, {size.bytes // MiB} MiB of 100-byte base64 lines, pipe vs pty",
        "reported: tty / pipe throughput (a pty is slower); every job complete",
    )
    workload = bulk(size.bytes)
    pipe = await ctx.peer("nebula")
    peers = {"nebula": pipe, "nebula-tty": NebulaTtyPeer(pipe.server)}

    async def trial(name: str, rep: int) -> Metrics:
        result = await run_trial(peers[name], workload, 1)
        return {
            "throughput": result.throughput,
            "cpu": result.server_cpu,
            "complete": float(result.complete),
        }

    samples = await repeat(ctx, size.reps, PEERS, trial, "{throughput:.0f} MB/s")
    row.series = samples.series(THROUGHPUT, CPU)
    row.checks = [
        samples.paired("tty / pipe throughput", "throughput", "nebula-tty", "nebula", ">=", 0.0),
        every("tty jobs complete", samples.share("nebula-tty", "complete")),
        every("pipe jobs complete", samples.share("nebula", "complete")),
    ]
    return row


MEASUREMENT = Measurement(10, __name__, FULL, QUICK, measure)
