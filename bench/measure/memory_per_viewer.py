"""Memory per viewer: server RSS per connected WebSocket client, with 1,000 clients on one run.

Row 6 of the results. Each job runs on a fresh server. Peers: nebula, the bare ceiling.
Target: every client gets the complete output; nebula's RSS per connected client ≤ 64 KiB,
idle and at the streaming peak.
"""

from __future__ import annotations

from ..context import Context, Measurement
from ..peers import bulk
from ..repeat import Metric, Metrics, repeat
from ..results_model import RowResult, every
from ..sizes import Fanout, KiB, MiB
from ..trial import run_trial

FULL = Fanout(clients=1000, bytes=1 * MiB, reps=3)
QUICK = Fanout(clients=1000, bytes=64 * KiB, reps=1)
PEERS = ["nebula", "ceiling"]
CONNECTED = Metric("connected", "RSS per client, all connected (idle)", "KiB", "{:.1f}")
PEAK = Metric("peak", "RSS per client, peak while streaming", "KiB", "{:.1f}")
NOTE = (
    "Fresh server per job; RSS (psutil) before connecting, after all clients connected and "
    "before the gate (idle), and the peak while streaming, each minus the first, divided by "
    "the number of clients. The bench raises RLIMIT_NOFILE; servers inherit it."
)


def metrics(clients: int) -> list[Metric]:
    return [
        CONNECTED,
        PEAK,
        Metric("connect", f"connect {clients} clients", "s", "{:.2f}"),
        Metric("seconds", "gate → last client done", "s", "{:.2f}"),
        Metric("whole", "clients with every byte", "", "{:.1%}"),
    ]


async def measure(ctx: Context, size: Fanout) -> RowResult:
    clients = size.clients
    row = ctx.row(
        f"{clients:,} WebSocket clients on one run ({size.bytes // KiB} KiB each)",
        "all get the complete output; server memory per connected client ≤ 64 KiB",
    )
    workload = bulk(size.bytes)

    async def trial(name: str, rep: int) -> Metrics:
        async with ctx.fresh_peer(name) as peer:
            result = await run_trial(peer, workload, clients)
        complete = sum(1 for count in result.client_bytes if count == result.expected_bytes)
        return {
            "connected": (result.rss_connected - result.rss_before) / clients / KiB,
            "peak": (result.rss_peak - result.rss_before) / clients / KiB,
            "connect": result.connect_seconds,
            "seconds": result.seconds,
            "whole": complete / clients,
        }

    progress = "{connected:.1f} KiB/client, {whole:.0%} complete"
    samples = await repeat(ctx, size.reps, PEERS, trial, progress)
    row.series = samples.series(*metrics(clients), by_peer=True)
    row.checks = [
        samples.bound("nebula RSS per connected client", "nebula", CONNECTED, "<=", 64),
        samples.bound("nebula RSS per client at the streaming peak", "nebula", PEAK, "<=", 64),
        every("nebula clients with every byte", min(samples.of("nebula", "whole"))),
    ]
    row.notes.append(NOTE)
    return row


MEASUREMENT = Measurement(6, __name__, FULL, QUICK, measure)
