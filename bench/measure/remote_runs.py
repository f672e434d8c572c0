"""Remote runs: a run on a Dask worker (through the agent) against a local run, same server.

Row 11 of the results. Peers: nebula (a local run, the server's child) and nebula-dask (the
same request with ``"executor": "dask"``: a real ``dask scheduler`` and ``dask worker`` run as
processes of their own, the worker's task starts the agent, which runs the command and streams
its output to the server over one WebSocket). Both peers are runs of one server, so the two
differ by the executor alone. Three phases, each its own repetitions (peers in rotated order,
ratios paired per repetition):

1. submit → first byte: from the ``POST api/nebula/runs`` to the first output byte at a client
   that connects to the run's stream once the POST has answered; the command is ``/bin/echo``,
   so the time is the executor's, not the program's start-up;
2. one client's throughput of bulk output (row 1's trial), and the server's CPU-seconds per GB
   ingested over it (user+system of the server process per GB the process wrote); beside it,
   the CPU per GB spent outside the server (the command; for dask also the agent, whose CPU
   per run, measured on the ``/bin/echo`` runs, is taken off) and the sum of both;
3. per-line write→receive latency, p50 / p99 / max (row 3's workload).

Target: dask throughput ≥ 0.5x local; every job complete and every line received on both
peers. The dask / local ratios of first byte, line latency p99 and CPU per GB are reported
(notes), not judged: the issue asks for them, not for a bar.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import json
import statistics

from .. import wsclient
from ..cluster import DaskCluster, NebulaDaskServer, reaped_cpu
from ..context import Context, Measurement
from ..followers import StreamFollower, now
from ..peers import NebulaPeer, StreamPeer, bulk, timed
from ..repeat import Metric, Metrics, Samples, repeat
from ..results_model import RowResult, every, finite, median, percentile
from ..sizes import MiB
from ..trial import run_trial
from .throughput_one_viewer import THROUGHPUT, one_viewer


@dataclasses.dataclass(frozen=True)
class Remote:
    submits: int  # submit → first byte: repetitions, one run of /bin/echo per peer in each
    bytes: int  # bulk output of the throughput and CPU trial
    bulk_reps: int
    lines: int  # lines of the latency trial, one every ``interval`` seconds
    interval: float
    line_reps: int


FULL = Remote(submits=20, bytes=64 * MiB, bulk_reps=10, lines=2000, interval=0.01, line_reps=3)
QUICK = Remote(submits=5, bytes=16 * MiB, bulk_reps=3, lines=200, interval=0.01, line_reps=2)
PEERS = ["nebula", "nebula-dask"]
FIRST_COMMAND = ["/bin/echo", "first byte"]
FIRST_TIMEOUT_SECONDS = 60.0

FIRST_BYTE = Metric("first_byte", "submit → first byte", "ms", "{:.0f}")
STARTED = Metric("started", "created → started (the record's times)", "ms", "{:.0f}")
P50 = Metric("p50", "line latency p50", "ms", "{:.2f}")
P99 = Metric("p99", "line latency p99", "ms", "{:.2f}")
MAX = Metric("max", "line latency max", "ms", "{:.2f}")
CPU_GB = Metric("cpu_gb", "server CPU per GB ingested", "s/GB", "{:.2f}")
AGENT_CPU = Metric("agent_cpu", "agent CPU per run (start-up to exit)", "s", "{:.3f}")
OUTSIDE_GB = Metric("outside_gb", "CPU per GB outside the server", "s/GB", "{:.2f}")
TOTAL_GB = Metric("total_gb", "all CPU per GB (server + outside)", "s/GB", "{:.2f}")
NOTES = [
    "Both peers are runs of one server configured with a Dask scheduler (one worker, 4 "
    "threads, no nanny; all on this machine): the local runs share its event loop with the "
    "Dask client, as they would on a site that uses both.",
    "Submit → first byte includes the client's WebSocket connect after the POST answered, "
    "alike for both; 'created → started' is the server's view (ms resolution) of how long "
    "the run waited for its command to start: for dask, the scheduler placing the task, the "
    "worker starting the agent process, the agent dialling back and spawning the command.",
    "CPU outside the server: for a local run its command (the server's reaped child); for a "
    "dask run the agent and its command (the worker's reaped children) less the agent's CPU "
    "per run, measured on the /bin/echo runs, so that GBs are not charged with the agent's "
    "start-up. Every process shares this machine's cores: when they are busy, throughput "
    "follows the CPU all of them need per GB, which a real cluster would split between "
    "machines.",
    "Line latency: CLOCK_MONOTONIC at the client minus the stamp written just before the "
    "line's write(), as row 3; the agent runs on this machine, so the clocks are the same.",
]


class FirstByteFollower(StreamFollower):
    """A stream follower that also notes when the first output byte came, and the last
    record (its ``created_at`` and ``started_at``)."""

    def __init__(self) -> None:
        super().__init__()
        self.first_at = float("nan")
        self.record: dict[str, object] = {}

    def on_message(self, opcode: int, payload: bytes) -> None:
        super().on_message(opcode, payload)
        if self.bytes and self.first_at != self.first_at:  # NaN: not set yet
            self.first_at = now()
        message = json.loads(payload)
        if message.get("type") == "status":
            self.record = message["run"]


def _seconds_between(record: dict[str, object], start: str, end: str) -> float:
    try:
        begin = datetime.datetime.fromisoformat(str(record[start]))
        finish = datetime.datetime.fromisoformat(str(record[end]))
    except (KeyError, ValueError):
        return float("nan")
    return (finish - begin).total_seconds()


async def first_byte(peer: StreamPeer) -> tuple[float, float]:
    """Create a run of ``/bin/echo``, connect to its stream, wait for its end; return seconds
    from the POST to the first output byte, and the record's created → started."""
    follower = FirstByteFollower()
    posted = now()
    path, delete_path = await peer.create(FIRST_COMMAND)
    try:
        client = await wsclient.connect("127.0.0.1", peer.server.port, path, follower.on_message)
        follower.client = client
        client.closed.add_done_callback(lambda _: follower.lost())
        await asyncio.wait_for(follower.done, FIRST_TIMEOUT_SECONDS)
    finally:
        if follower.client is not None:
            follower.client.close()
        if delete_path is not None:
            await peer.server.http("DELETE", delete_path)
    if follower.end_status != "succeeded":
        raise RuntimeError(f"{peer.name}: the echo run ended {follower.end_status}")
    return follower.first_at - posted, _seconds_between(follower.record, "created_at", "started_at")


async def agent_cpu(cluster: DaskCluster, reaped: float) -> float:
    """The CPU seconds of the agent (and its command) that ran since the workers' reaped
    children had used ``reaped``, once it has exited; NaN if it does not exit."""
    if not await cluster.agents_ended():
        return float("nan")
    return cluster.reaped_cpu() - reaped


def reported(samples: Samples, what: str, key: str) -> str:
    """A dask / local ratio as a note: median and min-max of the paired ratios."""
    values = finite(samples.ratio(key, "nebula-dask", "nebula"))
    if not values:
        return f"dask / local {what}: n/a"
    spread = f" ({min(values):.2f}-{max(values):.2f})" if len(values) > 1 else ""
    return (
        f"dask / local {what}: median {statistics.median(values):.2f}x{spread}, "
        "paired per repetition"
    )


async def measure(ctx: Context, size: Remote) -> RowResult:
    row = ctx.row(
        f"a run on a Dask worker vs a local run: submit → first byte; one client, "
        f"{size.bytes // MiB} MiB; {size.lines:,} lines, one every {size.interval * 1000:g} ms",
        "dask throughput ≥ 0.5x local; reported (notes): dask / local submit → first byte, "
        "line latency p99, server CPU per GB ingested",
    )
    dask = await ctx.peer("nebula-dask")
    assert isinstance(dask, StreamPeer) and isinstance(dask.server, NebulaDaskServer)
    cluster = dask.server.cluster
    peers: dict[str, StreamPeer] = {"nebula": NebulaPeer(dask.server), "nebula-dask": dask}
    workload = bulk(size.bytes)
    lines = timed(size.lines, size.interval)

    async def first_trial(name: str, rep: int) -> Metrics:
        reaped = cluster.reaped_cpu()
        first, started = await first_byte(peers[name])
        metrics = {"first_byte": first * 1000, "started": started * 1000}
        if name == "nebula-dask":
            metrics["agent_cpu"] = await agent_cpu(cluster, reaped)
        return metrics

    # The server connects to the scheduler on its first dask run: timed apart, not repeated.
    cold, _ = await first_byte(dask)
    await cluster.agents_ended()
    # Three phases, each paired per repetition: every ratio compares runs of the same minute.
    firsts = await repeat(ctx, size.submits, PEERS, first_trial, "first byte {first_byte:.0f} ms")
    # An agent's start-up and exit, whatever its run writes: not a cost per GB.
    agent_fixed = median(firsts.of("nebula-dask", "agent_cpu"))
    gb = workload.expected_bytes / 1e9

    async def bulk_trial(name: str, rep: int) -> Metrics:
        server = dask.server.ps()
        reaped = cluster.reaped_cpu(), reaped_cpu(server)
        result = await one_viewer(peers[name], workload)
        if name == "nebula-dask":
            outside = await agent_cpu(cluster, reaped[0]) - agent_fixed
        else:
            outside = reaped_cpu(server) - reaped[1]  # the command, reaped by the server
        cpu_gb = result["cpu"] / gb
        return {
            **result,
            "cpu_gb": cpu_gb,
            "outside_gb": outside / gb,
            "total_gb": cpu_gb + outside / gb,
        }

    async def line_trial(name: str, rep: int) -> Metrics:
        result = await run_trial(peers[name], lines, 1, latency=True)
        ms = [ns / 1e6 for ns in result.latencies_ns]
        return {
            "p50": percentile(ms, 0.50),
            "p99": percentile(ms, 0.99),
            "max": max(ms) if ms else float("nan"),
            "seen": len(ms) / size.lines,
        }

    bulks = await repeat(ctx, size.bulk_reps, PEERS, bulk_trial, "{throughput:.0f} MB/s")
    latencies = await repeat(ctx, size.line_reps, PEERS, line_trial, "p99 {p99:.2f} ms")
    row.series = [
        *firsts.series(FIRST_BYTE, STARTED),
        *firsts.series(AGENT_CPU, peers=["nebula-dask"]),
        *bulks.series(THROUGHPUT, CPU_GB, OUTSIDE_GB, TOTAL_GB),
        *latencies.series(P50, P99, MAX),
    ]
    row.checks = [
        bulks.paired("dask / local throughput", "throughput", "nebula-dask", "nebula", ">=", 0.5),
        every("dask jobs complete", bulks.share("nebula-dask", "complete")),
        every("local jobs complete", bulks.share("nebula", "complete")),
        every("dask lines received", min(latencies.of("nebula-dask", "seen"))),
        every("local lines received", min(latencies.of("nebula", "seen"))),
    ]
    row.notes += [
        reported(firsts, "submit → first byte", "first_byte"),
        reported(latencies, "line latency p99", "p99"),
        reported(bulks, "server CPU per GB ingested", "cpu_gb"),
        reported(bulks, "all CPU per GB (server + outside)", "total_gb"),
        f"The server's first dask run (its Dask client connects to the scheduler then) took "
        f"{cold * 1000:.0f} ms from submit to first byte; it is not among the repetitions.",
        *NOTES,
    ]
    await ctx.profile_trials(row, dask, 3, workload, 1)
    return row


MEASUREMENT = Measurement(11, __name__, FULL, QUICK, measure)
