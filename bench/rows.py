"""The seven workloads of issue 5. Peers are interleaved per repetition (rotating the order),
and every target is a ratio of numbers measured in the same repetition."""

from __future__ import annotations

import math
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from . import kernel as kernel_row
from . import profiling
from .browser import BrowserBench, missing_files
from .config import Config, MiB
from .peers import CeilingPeer, NebulaPeer, Peer, TerminalsPeer, Workload, bulk, timed
from .results_model import Check, RowResult, Series, percentile
from .servers import CeilingServer, Server, kernel_server, nebula_server, terminals_server
from .trial import TrialResult, run_trial

MB = 1e6
NAN = float("nan")

SERVER_FACTORIES: dict[str, Callable[[Path], Server]] = {
    "nebula": nebula_server,
    "ceiling": CeilingServer,
    "terminals": terminals_server,
}
PEER_CLASSES: dict[str, type[Peer]] = {
    "nebula": NebulaPeer,
    "ceiling": CeilingPeer,
    "terminals": TerminalsPeer,
}


def rotate(items: list[str], rep: int) -> list[str]:
    shift = rep % len(items)
    return items[shift:] + items[:shift]


def ratios(top: list[float], bottom: list[float]) -> list[float]:
    return [
        a / b if b and math.isfinite(a) and math.isfinite(b) else NAN
        for a, b in zip(top, bottom, strict=False)
    ]


def throughput(result: TrialResult) -> float:
    """MB/s of what the process wrote, per client (one client) or in aggregate (many)."""
    return result.delivered_bytes / result.seconds / MB if result.seconds > 0 else NAN


class Context:
    """Servers shared by the rows (started once), fresh ones on demand, and the log."""

    def __init__(self, cfg: Config, workdir: Path, rawdir: Path, profile: str) -> None:
        self.cfg = cfg
        self.workdir = workdir
        self.rawdir = rawdir
        self.profile = profile
        self._shared: dict[str, Server] = {}
        self.started = time.monotonic()

    def log(self, message: str) -> None:
        print(f"[{time.monotonic() - self.started:7.1f}s] {message}", flush=True)

    async def shared(self, name: str) -> Server:
        if name not in self._shared:
            self._shared[name] = await SERVER_FACTORIES[name](self.workdir).start()
        return self._shared[name]

    async def peer(self, name: str) -> Peer:
        return PEER_CLASSES[name](await self.shared(name))

    async def fresh(self, name: str) -> Server:
        return await SERVER_FACTORIES[name](self.workdir).start()

    async def close(self) -> None:
        for server in self._shared.values():
            await server.stop()
        self._shared.clear()

    def wants_profile(self, row: RowResult) -> bool:
        return self.profile == "always" or (self.profile == "missed" and not row.met)

    async def profile_nebula(
        self, row: RowResult, server: Server, workload: Callable[[], Awaitable[object]]
    ) -> None:
        """py-spy the nebula server while ``workload`` runs again; summary into the row."""
        out = self.rawdir / f"row{row.number}-nebula.pyspy.txt"
        self.log(f"row {row.number}: profiling the nebula server with py-spy")
        try:
            path = await profiling.record(server.pid, out, workload)
        except Exception as exc:
            row.profile = f"py-spy failed: {exc}"
            return
        if path is None:
            row.profile = "py-spy is not installed (pip install -r bench/requirements.txt)."
            return
        row.profile = f"raw stacks: {path.name}\n\n" + profiling.summarize(path)


# -- row 1 -------------------------------------------------------------------------------------


async def row1(ctx: Context) -> RowResult:
    cfg = ctx.cfg
    row = RowResult(
        1,
        f"one client, {cfg.row1_bytes // MiB} MiB of 100-byte base64 lines",
        "throughput ≥ 0.7x the bare ceiling and ≥ 4x Jupyter terminals",
    )
    names = ["nebula", "ceiling", "terminals"]
    rate: dict[str, list[float]] = {name: [] for name in names}
    cpu: dict[str, list[float]] = {name: [] for name in names}
    whole: dict[str, list[float]] = {name: [] for name in names}
    workload = bulk(cfg.row1_bytes)
    for rep in range(cfg.row1_reps):
        for name in rotate(names, rep):
            result = await run_trial(await ctx.peer(name), workload, 1)
            rate[name].append(throughput(result))
            cpu[name].append(result.server_cpu)
            whole[name].append(1.0 if result.complete else 0.0)
        ctx.log(f"row 1 rep {rep + 1}: " + ", ".join(f"{n} {rate[n][-1]:.0f} MB/s" for n in names))
    for name in names:
        row.series.append(Series(name, "throughput", "MB/s", rate[name], "{:.0f}"))
    for name in names:
        row.series.append(Series(name, "server CPU per job", "s", cpu[name], "{:.3f}"))
    row.checks = [
        Check("nebula / ceiling throughput", ratios(rate["nebula"], rate["ceiling"]), ">=", 0.7),
        Check("nebula / terminals throughput", ratios(rate["nebula"], rate["terminals"]), ">=", 4),
        Check(
            "nebula jobs complete",
            [sum(whole["nebula"]) / len(whole["nebula"])],
            "==",
            1.0,
            unit="",
            fmt="{:.0%}",
        ),
    ]
    if ctx.wants_profile(row):
        nebula = await ctx.peer("nebula")

        async def again() -> None:
            for _ in range(5):
                await run_trial(nebula, workload, 1)

        await ctx.profile_nebula(row, nebula.server, again)
    return row


# -- row 2 -------------------------------------------------------------------------------------


async def row2(ctx: Context) -> RowResult:
    cfg = ctx.cfg
    row = RowResult(
        2,
        f"{cfg.row2_clients} clients on one run, {cfg.row2_bytes // MiB} MiB",
        "aggregate throughput ≥ 0.7x the ceiling; "
        "server CPU-seconds per GB delivered ≤ 2x the ceiling's",
    )
    names = ["nebula", "ceiling"]
    rate: dict[str, list[float]] = {name: [] for name in names}
    cpu_gb: dict[str, list[float]] = {name: [] for name in names}
    bench_cpu: dict[str, list[float]] = {name: [] for name in names}
    whole: dict[str, list[float]] = {name: [] for name in names}
    workload = bulk(cfg.row2_bytes)
    for rep in range(cfg.row2_reps):
        for name in rotate(names, rep):
            result = await run_trial(await ctx.peer(name), workload, cfg.row2_clients)
            rate[name].append(throughput(result))
            cpu_gb[name].append(result.server_cpu / (result.delivered_bytes / 1e9))
            bench_cpu[name].append(result.bench_cpu / result.seconds)
            whole[name].append(1.0 if result.complete else 0.0)
        ctx.log(f"row 2 rep {rep + 1}: " + ", ".join(f"{n} {rate[n][-1]:.0f} MB/s" for n in names))
    for name in names:
        row.series.append(Series(name, "aggregate throughput", "MB/s", rate[name], "{:.0f}"))
    for name in names:
        row.series.append(
            Series(name, "server CPU per GB delivered", "s/GB", cpu_gb[name], "{:.2f}")
        )
    for name in names:
        row.series.append(
            Series(name, "bench client CPU (share of one core)", "", bench_cpu[name], "{:.0%}")
        )
    row.checks = [
        Check(
            "nebula / ceiling aggregate throughput",
            ratios(rate["nebula"], rate["ceiling"]),
            ">=",
            0.7,
        ),
        Check("nebula / ceiling CPU per GB", ratios(cpu_gb["nebula"], cpu_gb["ceiling"]), "<=", 2),
        Check(
            "nebula jobs complete (every client, every byte)",
            [sum(whole["nebula"]) / len(whole["nebula"])],
            "==",
            1.0,
            unit="",
            fmt="{:.0%}",
        ),
    ]
    row.notes.append(
        "The bench's clients run in one process; its CPU share is shown so a client-bound "
        "measurement is visible (both peers are measured with the same clients)."
    )
    if ctx.wants_profile(row):
        nebula = await ctx.peer("nebula")

        async def again() -> None:
            for _ in range(3):
                await run_trial(nebula, workload, cfg.row2_clients)

        await ctx.profile_nebula(row, nebula.server, again)
    return row


# -- row 3 -------------------------------------------------------------------------------------


async def row3(ctx: Context) -> RowResult:
    cfg = ctx.cfg
    row = RowResult(
        3,
        f"{cfg.row3_lines:,} lines, one every {cfg.row3_interval * 1000:g} ms, "
        "each carrying its write time",
        "p99 write→receive latency ≤ 2x the ceiling's p99",
    )
    names = ["nebula", "ceiling", "terminals"]
    p50: dict[str, list[float]] = {name: [] for name in names}
    p99: dict[str, list[float]] = {name: [] for name in names}
    worst: dict[str, list[float]] = {name: [] for name in names}
    seen: dict[str, list[float]] = {name: [] for name in names}
    workload = timed(cfg.row3_lines, cfg.row3_interval)
    for rep in range(cfg.row3_reps):
        for name in rotate(names, rep):
            result = await run_trial(await ctx.peer(name), workload, 1, latency=True)
            ms = [ns / 1e6 for ns in result.latencies_ns]
            p50[name].append(percentile(ms, 0.50))
            p99[name].append(percentile(ms, 0.99))
            worst[name].append(max(ms) if ms else NAN)
            seen[name].append(len(ms) / cfg.row3_lines)
        ctx.log(f"row 3 rep {rep + 1}: " + ", ".join(f"{n} p99 {p99[n][-1]:.2f} ms" for n in names))
    for metric, data in (("p50 latency", p50), ("p99 latency", p99), ("max latency", worst)):
        for name in names:
            row.series.append(Series(name, metric, "ms", data[name], "{:.2f}"))
    row.checks = [
        Check("nebula p99 / ceiling p99", ratios(p99["nebula"], p99["ceiling"]), "<=", 2),
        Check("nebula lines received", [min(seen["nebula"])], "==", 1.0, unit="", fmt="{:.0%}"),
    ]
    row.notes.append(
        "Latency = CLOCK_MONOTONIC when the line's last byte reached the client minus the time "
        "stamped in the line just before its write(); same host, same clock. Percentiles are "
        "nearest-rank over one job's lines; the table's median/min-max are over repetitions."
    )
    if ctx.wants_profile(row):
        nebula = await ctx.peer("nebula")

        async def again() -> None:
            await run_trial(nebula, workload, 1, latency=True)

        await ctx.profile_nebula(row, nebula.server, again)
    return row


# -- row 4 -------------------------------------------------------------------------------------


async def row4(ctx: Context) -> RowResult:
    cfg = ctx.cfg
    row = RowResult(
        4,
        f"one client stops reading for {cfg.row4_pause:g} s while {cfg.row4_bytes // MiB} MiB "
        "are written, a second client reads normally",
        "server RSS growth ≤ 32 MiB; the normal client finishes within 1.5x its time alone; "
        "the paused client then receives every byte",
    )
    names = ["nebula", "ceiling"]
    alone: dict[str, list[float]] = {name: [] for name in names}
    normal: dict[str, list[float]] = {name: [] for name in names}
    paused: dict[str, list[float]] = {name: [] for name in names}
    growth: dict[str, list[float]] = {name: [] for name in names}
    whole: dict[str, list[float]] = {name: [] for name in names}
    workload = bulk(cfg.row4_bytes)
    for rep in range(cfg.row4_reps):
        for name in rotate(names, rep):
            for mode in rotate(["alone", "paused"], rep):
                # A fresh server per job: RSS growth is then the job's alone.
                server = await ctx.fresh(name)
                try:
                    peer = PEER_CLASSES[name](server)
                    if mode == "alone":
                        result = await run_trial(peer, workload, 1)
                        alone[name].append(result.seconds)
                    else:
                        result = await run_trial(peer, workload, 2, pause_first=cfg.row4_pause)
                        paused[name].append(result.client_seconds[0])
                        normal[name].append(result.client_seconds[1])
                        growth[name].append(result.rss_growth / MiB)
                        whole[name].append(1.0 if result.complete else 0.0)
                finally:
                    await server.stop()
        ctx.log(
            f"row 4 rep {rep + 1}: "
            + ", ".join(
                f"{n} alone {alone[n][-1]:.2f}s normal {normal[n][-1]:.2f}s "
                f"RSS +{growth[n][-1]:.0f} MiB"
                for n in names
            )
        )
    for name in names:
        row.series += [
            Series(name, "normal client, alone", "s", alone[name], "{:.2f}"),
            Series(name, "normal client, next to the paused one", "s", normal[name], "{:.2f}"),
            Series(name, "paused client, until its last byte", "s", paused[name], "{:.2f}"),
            Series(name, "server RSS growth (peak - before)", "MiB", growth[name], "{:.1f}"),
        ]
    row.checks = [
        Check("nebula server RSS growth", growth["nebula"], "<=", 32, unit=" MiB", fmt="{:.1f}"),
        Check(
            "nebula normal client: with paused peer / alone",
            ratios(normal["nebula"], alone["nebula"]),
            "<=",
            1.5,
        ),
        Check(
            "nebula paused client received every byte",
            [sum(whole["nebula"]) / max(1, len(whole["nebula"]))],
            "==",
            1.0,
            unit="",
            fmt="{:.0%}",
        ),
    ]
    row.notes.append(
        "The paused client calls transport.pause_reading() before the gate opens and resumes "
        f"{cfg.row4_pause:g} s after it: the kernel socket buffers fill and the server's writes "
        "back up. RSS is sampled every 20 ms (psutil) on a fresh server per job. The ceiling is "
        "shown for reference (no target): it has no flow control and buffers for the paused client."
    )
    if ctx.wants_profile(row):
        server = await ctx.fresh("nebula")
        try:
            peer = NebulaPeer(server)

            async def again() -> None:
                await run_trial(peer, workload, 2, pause_first=cfg.row4_pause)

            await ctx.profile_nebula(row, server, again)
        finally:
            await server.stop()
    return row


# -- row 5 -------------------------------------------------------------------------------------


async def row5(ctx: Context) -> RowResult:
    cfg = ctx.cfg
    size = cfg.row5_bytes - cfg.row5_bytes % 100
    row = RowResult(
        5,
        f"a notebook printing {cfg.row5_bytes // MiB} MiB vs the same output as a nebula run "
        "started from the kernel's API",
        "nebula delivers 100% of the bytes at ≥ 5x the unlimited kernel path's rate",
    )
    default = await kernel_server(ctx.workdir, limit_rate=True).start()
    unlimited = await kernel_server(ctx.workdir, limit_rate=False).start()
    kernels: list[kernel_row.KernelSession] = []
    paths = [
        "print default",
        "print unlimited",
        "nebula (bench follows)",
        "nebula (kernel follows)",
    ]
    rate: dict[str, list[float]] = {path: [] for path in paths}
    share: dict[str, list[float]] = {path: [] for path in paths}
    notes: set[str] = set()
    try:
        k_default = await kernel_row.KernelSession(default).start()
        kernels.append(k_default)
        k_unlimited = await kernel_row.KernelSession(unlimited).start()
        kernels.append(k_unlimited)
        for rep in range(cfg.row5_reps):
            for path in rotate(paths, rep):
                if path == "print default":
                    result = await kernel_row.print_trial(k_default, size, path)
                elif path == "print unlimited":
                    result = await kernel_row.print_trial(k_unlimited, size, path)
                elif path == "nebula (bench follows)":
                    result = await kernel_row.nebula_bench_follows(k_unlimited, size)
                else:
                    result = await kernel_row.nebula_kernel_follows(k_unlimited, size)
                rate[path].append(result.rate / MB)
                share[path].append(result.bytes / size)
                if result.note:
                    notes.add(f"{path}: {result.note}")
            ctx.log(
                f"row 5 rep {rep + 1}: " + ", ".join(f"{p} {rate[p][-1]:.1f} MB/s" for p in paths)
            )
        for path in ("nebula (bench follows)", "nebula (kernel follows)"):
            row.checks.append(
                Check(
                    f"{path} / print unlimited, rate",
                    ratios(rate[path], rate["print unlimited"]),
                    ">=",
                    5,
                )
            )
            row.checks.append(
                Check(
                    f"{path}: bytes delivered", [min(share[path])], "==", 1.0, unit="", fmt="{:.0%}"
                )
            )
        if ctx.wants_profile(row):
            # The unlimited kernel's server is also the nebula server of the nebula paths.
            async def again() -> None:
                for _ in range(3):
                    await kernel_row.nebula_bench_follows(k_unlimited, size)

            await ctx.profile_nebula(row, unlimited, again)
    finally:
        for session in kernels:
            await session.stop()
        await default.stop()
        await unlimited.stop()
    for path in paths:
        row.series.append(Series(path, "rate of delivered bytes", "MB/s", rate[path], "{:.1f}"))
    for path in paths:
        row.series.append(Series(path, "bytes delivered", "", share[path], "{:.1%}"))
    row.notes += sorted(notes)
    row.notes.append(
        "'default' is jupyter_server 2.21's default: ZMQChannelsWebsocketConnection.limit_rate="
        "True with iopub_data_rate_limit=1,000,000 B/s and iopub_msg_rate_limit=1,000 msg/s over "
        "rate_limit_window=3 s; over the limit the server drops stream messages (it does not "
        "delay them). 'unlimited' sets limit_rate=False. The cell prints 65,500-character "
        "blocks of lines with print(block, end=''); nebula runs bench/writer.py writing the "
        "same blocks. 'bench follows': the cell calls nj.run() and the bench reads the run's "
        "WebSocket as the widget would; 'kernel follows': the cell iterates run.follow() in "
        "the kernel and times itself."
    )
    return row


# -- row 6 -------------------------------------------------------------------------------------


async def row6(ctx: Context) -> RowResult:
    cfg = ctx.cfg
    row = RowResult(
        6,
        f"{cfg.row6_clients:,} WebSocket clients on one run ({cfg.row6_bytes // 1024} KiB each)",
        "all get the complete output; server memory per connected client ≤ 64 KiB",
    )
    names = ["nebula", "ceiling"]
    connected: dict[str, list[float]] = {name: [] for name in names}
    peak: dict[str, list[float]] = {name: [] for name in names}
    seconds: dict[str, list[float]] = {name: [] for name in names}
    connect: dict[str, list[float]] = {name: [] for name in names}
    whole: dict[str, list[float]] = {name: [] for name in names}
    workload = bulk(cfg.row6_bytes)
    clients = cfg.row6_clients
    for rep in range(cfg.row6_reps):
        for name in rotate(names, rep):
            server = await ctx.fresh(name)
            try:
                result = await run_trial(PEER_CLASSES[name](server), workload, clients)
            finally:
                await server.stop()
            connected[name].append((result.rss_connected - result.rss_before) / clients / 1024)
            peak[name].append((result.rss_peak - result.rss_before) / clients / 1024)
            seconds[name].append(result.seconds)
            connect[name].append(result.connect_seconds)
            complete = sum(1 for count in result.client_bytes if count == result.expected_bytes)
            whole[name].append(complete / clients)
        ctx.log(
            f"row 6 rep {rep + 1}: "
            + ", ".join(
                f"{n} {connected[n][-1]:.1f} KiB/client, {whole[n][-1]:.0%} complete" for n in names
            )
        )
    for name in names:
        row.series += [
            Series(name, "RSS per client, all connected (idle)", "KiB", connected[name], "{:.1f}"),
            Series(name, "RSS per client, peak while streaming", "KiB", peak[name], "{:.1f}"),
            Series(name, f"connect {clients} clients", "s", connect[name], "{:.2f}"),
            Series(name, "gate → last client done", "s", seconds[name], "{:.2f}"),
            Series(name, "clients with every byte", "", whole[name], "{:.1%}"),
        ]
    row.checks = [
        Check(
            "nebula RSS per connected client",
            connected["nebula"],
            "<=",
            64,
            unit=" KiB",
            fmt="{:.1f}",
        ),
        Check(
            "nebula RSS per client at the streaming peak",
            peak["nebula"],
            "<=",
            64,
            unit=" KiB",
            fmt="{:.1f}",
        ),
        Check(
            "nebula clients with every byte",
            [min(whole["nebula"])],
            "==",
            1.0,
            unit="",
            fmt="{:.0%}",
        ),
    ]
    row.notes.append(
        "Fresh server per job; RSS (psutil) before connecting, after all clients connected and "
        "before the gate (idle), and the peak while streaming, each minus the first, divided by "
        "the number of clients. The bench raises RLIMIT_NOFILE; servers inherit it."
    )
    return row


# -- row 7 -------------------------------------------------------------------------------------


async def row7(ctx: Context) -> RowResult:
    cfg = ctx.cfg
    row = RowResult(
        7,
        f"the widget in headless Chromium rendering a {cfg.row7_bytes / 1e6:g} MB run",
        "time to the final status ≤ 1.5x xterm.js alone writing the same bytes in the same page; "
        "a 50 ms timer in the page never lags more than 250 ms",
    )
    missing = missing_files()
    if missing:
        row.error = "missing: " + ", ".join(missing) + " (cd js && npm install && npm run build)"
        return row
    size = cfg.row7_bytes - cfg.row7_bytes % 100
    server = await ctx.shared("nebula")
    ceiling = await ctx.shared("ceiling")
    browser = await BrowserBench(server).start()
    # The references say what getting the bytes into the page costs at all, without the widget:
    # one socket straight into xterm.js, no batching, no acks.
    references = {
        "bare socket, ceiling JSON frames": lambda: browser.bare(ceiling, size),
        "bare socket, ceiling binary frames": lambda: browser.bare(ceiling, size, binary=True),
        "bare socket, nebula stream": lambda: browser.bare(server, size),
    }
    paths = ["xterm alone", "widget", *references]
    seconds: dict[str, list[float]] = {path: [] for path in paths}
    lag: dict[str, list[float]] = {path: [] for path in paths}
    status_seconds: list[float] = []
    starved: list[float] = []
    shown: list[float] = []
    try:
        for rep in range(cfg.row7_reps):
            for path in rotate(paths, rep):
                if path == "widget":
                    result = await browser.widget(size)
                    status_seconds.append(result.status_seconds)
                    starved.append(result.starved_seconds)
                    shown.append(result.bytes_shown / size)
                elif path == "xterm alone":
                    result = await browser.xterm_alone(size)
                else:
                    result = await references[path]()
                seconds[path].append(result.seconds)
                lag[path].append(result.max_lag_ms)
            ctx.log(
                f"row 7 rep {rep + 1}: " + ", ".join(f"{p} {seconds[p][-1]:.2f}s" for p in paths)
            )
        widget_ratio = ratios(seconds["widget"], seconds["xterm alone"])
        if ctx.profile == "always" or (
            ctx.profile == "missed" and not Check("", widget_ratio, "<=", 1.5).met
        ):
            ctx.log("row 7: profiling the page (CDP sampling profiler)")
            row.profile = "\n\n".join(
                [
                    "Page main thread, CDP sampling profiler "
                    "(JavaScript is minified: grouped by script;"
                    " the widget bundles its own xterm.js):",
                    await browser.cpu_profile("xterm alone", lambda: browser.xterm_alone(size)),
                    await browser.cpu_profile("widget", lambda: browser.widget(size)),
                    await browser.cpu_profile(
                        "bare socket, nebula stream", lambda: browser.bare(server, size)
                    ),
                ]
            )
    finally:
        await browser.stop()
    for path in paths:
        row.series.append(Series(path, "time to every byte shown", "s", seconds[path], "{:.2f}"))
    for path in paths[2:]:
        row.series.append(
            Series(
                path,
                "÷ xterm alone (paired)",
                "x",
                ratios(seconds[path], seconds["xterm alone"]),
                "{:.2f}",
            )
        )
    row.series.append(
        Series("widget", "time to the final status alone", "s", status_seconds, "{:.2f}")
    )
    row.series.append(
        Series("widget", "starved: all received already parsed", "s", starved, "{:.2f}")
    )
    for path in paths:
        row.series.append(Series(path, "max lag of a 50 ms timer", "ms", lag[path], "{:.0f}"))
    row.series.append(Series("widget", "bytes shown", "", shown, "{:.1%}"))
    row.checks = [
        Check(
            "widget / xterm.js alone, time",
            ratios(seconds["widget"], seconds["xterm alone"]),
            "<=",
            1.5,
        ),
        Check("widget: max timer lag", [max(lag["widget"])], "<=", 250, unit=" ms", fmt="{:.0f}"),
        Check("widget: bytes shown", [min(shown)], "==", 1.0, unit="", fmt="{:.0%}"),
    ]
    row.notes.append(
        "The widget's time ends when the final status is shown AND xterm.js has parsed every "
        "byte (the later of the two). xterm.js alone uses the widget's terminal options, font, "
        "colours and size and the same 4 MiB flow-control window, writing 65,500-character "
        "blocks. 'bare socket' rows: a WebSocket whose every output frame goes straight into "
        "term.write (JSON parsed, or binary frames as bytes), fed by the ceiling server or by "
        "nebula's stream; they are references, not targets. 'starved' is the time during which "
        "everything the widget had received was already acknowledged (parsed), i.e. it waited "
        "for the server. The page is served on the server's origin by Playwright routing."
    )
    return row


ROWS: dict[int, Callable[[Context], Awaitable[RowResult]]] = {
    1: row1,
    2: row2,
    3: row3,
    4: row4,
    5: row5,
    6: row6,
    7: row7,
}
# Cheap, high-value rows first.
ORDER = [4, 1, 2, 3, 6, 5, 7]

__all__ = ["ORDER", "ROWS", "Context", "Workload"]
