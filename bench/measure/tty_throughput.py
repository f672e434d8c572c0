"""Terminal mode's cost: one viewer of a run writing bulk output through a pty vs through a pipe.

Row 10 of the results. Peers: nebula with the run's stdout a pipe, and the same server with
the run in terminal mode (``"tty": true``). A pty moves data through the kernel's line
discipline in small pieces, so it is expected to be slower; this row says by how much.
Target: none: the tty / pipe ratios are reported as notes; every job complete.
"""

from __future__ import annotations

import statistics

from ..context import Context, Measurement
from ..peers import NebulaTtyPeer, bulk
from ..repeat import Metrics, repeat
from ..results_model import RowResult, every
from ..sizes import Bulk, MiB
from .throughput_one_viewer import CPU, THROUGHPUT, one_viewer

FULL = Bulk(bytes=64 * MiB, reps=7)
QUICK = Bulk(bytes=16 * MiB, reps=3)
PEERS = ["nebula", "nebula-tty"]


async def measure(ctx: Context, size: Bulk) -> RowResult:
    row = ctx.row(
        f"one client, {size.bytes // MiB} MiB of 100-byte base64 lines, pipe vs pty",
        "reported (notes): tty / pipe throughput and CPU; every job complete",
    )
    workload = bulk(size.bytes)
    pipe = await ctx.peer("nebula")
    peers = {"nebula": pipe, "nebula-tty": NebulaTtyPeer(pipe.server)}

    async def trial(name: str, rep: int) -> Metrics:
        return await one_viewer(peers[name], workload)

    samples = await repeat(ctx, size.reps, PEERS, trial, "{throughput:.0f} MB/s")
    row.series = samples.series(THROUGHPUT, CPU)
    # The ratio is reported, not judged: the issue asks how much slower a pty is, not for a bar.
    for key, what in (("throughput", "throughput"), ("cpu", "server CPU per job")):
        ratio = statistics.median(samples.ratio(key, "nebula-tty", "nebula"))
        row.notes.append(f"tty / pipe {what}: median {ratio:.2f}x (paired per repetition)")
    row.checks = [
        every("tty jobs complete", samples.share("nebula-tty", "complete")),
        every("pipe jobs complete", samples.share("nebula", "complete")),
    ]
    return row


MEASUREMENT = Measurement(10, __name__, FULL, QUICK, measure)
