"""History at scale: a server on a data dir of 100,000 finished runs versus one on an empty dir.

Row 8 of the results. The data dir is built once through nebula's storage layer
(:mod:`bench.history_data`, cached under the temp dir); each repetition starts a real
``jupyter server`` on it and on an empty data dir, in rotated order, and measures both the
same way. Targets: RSS after start-up at most 50 MiB above the empty server's; start-up (until
``GET api/nebula/runs?limit=1`` answers 200) ≤ 1.5x the empty server's; the first page
(``?limit=100``) ≤ 20 ms; ``GET api/nebula/runs/{id}`` of the oldest run ≤ 2x the newest's;
paging with ``next`` lists every run exactly once.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Awaitable, Callable

from ..context import Context, Measurement
from ..history_data import History, cached, empty
from ..repeat import Metric, Metrics, Samples, ratios, repeat
from ..results_model import Check, RowResult, every, median
from ..servers import Server, nebula_server
from ..sizes import MiB


@dataclasses.dataclass(frozen=True)
class Scale:
    runs: int  # finished runs in the full data dir
    requests: int  # of each kind per server, for the latency medians
    reps: int


FULL = Scale(runs=100_000, requests=200, reps=5)
QUICK = Scale(runs=5_000, requests=40, reps=2)
EMPTY = "empty"
RUNS = "/api/nebula/runs"
READY = f"{RUNS}?limit=1"
POLL_SECONDS = 0.01  # start-up is timed to this resolution
SETTLE_SECONDS = 1.0  # after the first 200: the first retention pass and housekeeping tick
WALK_LIMIT = 1000

STARTUP = Metric("startup", "start-up until runs?limit=1 answers 200", "s", "{:.2f}")
RSS_START = Metric("rss_start", "server RSS after start-up", "MiB", "{:.1f}")
RSS_AFTER = Metric("rss_after", "server RSS after every request below", "MiB", "{:.1f}")
PAGE = Metric("page_ms", "first page (limit=100), median latency", "ms", "{:.2f}")
DEEP = Metric("deep_ms", "a page at the far end (limit=100, before=next), median", "ms", "{:.2f}")
WALK = Metric("walk", f"paging through every run (limit={WALK_LIMIT})", "s", "{:.2f}")
OLDEST = Metric("oldest_ms", "GET runs/{id} of the oldest run, median", "ms", "{:.2f}")
NEWEST = Metric("newest_ms", "GET runs/{id} of the newest run, median", "ms", "{:.2f}")
NOTE = (
    "A fresh server per trial on each data dir (the full one is reused across repetitions; "
    "the server only reads it), started in rotated order, one at a time. Start-up is timed "
    f"from spawning `python -m jupyter_server` to the first 200 of `GET {READY}`, asked every "
    f"{POLL_SECONDS * 1000:g} ms. RSS (psutil) is read {SETTLE_SECONDS:g} s after that. "
    "Latencies are per request from the bench's Tornado HTTP client (a new loopback "
    "connection each, token header): the first page, the oldest and the newest run's record "
    "are asked in turn, then a page at the far end of the history (limit=100, with the cursor "
    "that got the walk's last page of runs). The empty server gets the same "
    "requests (its GET of an id answers 404: not shown). The runs were built through "
    "nebula's Storage/StoredRun in one transaction: status succeeded, one 20-byte stdout "
    "line each (runs/<id>/ with its three files), finished over the last days so that the "
    "default 90-day retention keeps them; the OS page cache holds the data dir (it was just "
    "built or read)."
)


async def timed_get(server: Server, path: str, expect: int = 200) -> float:
    """Milliseconds of one GET; raises if it does not answer ``expect``."""
    started = time.perf_counter()
    response = await server.http("GET", path)
    elapsed = (time.perf_counter() - started) * 1000
    if response.code != expect:
        raise RuntimeError(f"GET {path}: {response.code} {response.body[:200]!r}")
    return elapsed


async def walk(server: Server) -> tuple[list[str], str | None]:
    """Every run id, following ``next``; and the cursor that got the last page with runs
    (None: they all fit on the first page)."""
    ids: list[str] = []
    before: str | None = None
    far_end: str | None = None
    while True:
        query = f"?limit={WALK_LIMIT}" + (f"&before={before}" if before else "")
        page = await server.json("GET", RUNS + query)
        ids += [run["id"] for run in page["runs"]]
        if page["runs"]:
            far_end = before
        if page["next"] is None:
            return ids, far_end
        before = page["next"]


async def requests(server: Server, history: History, size: Scale) -> Metrics:
    """The latencies and the page walk of one trial (the same on both data dirs)."""
    known = bool(history.runs)
    status = 200 if known else 404
    oldest = f"{RUNS}/{history.oldest or 'no-such-run'}"
    newest = f"{RUNS}/{history.newest or 'no-such-run'}"
    kinds: dict[str, Callable[[], Awaitable[float]]] = {
        "page_ms": lambda: timed_get(server, f"{RUNS}?limit=100"),
        "oldest_ms": lambda: timed_get(server, oldest, status),
        "newest_ms": lambda: timed_get(server, newest, status),
    }
    times: dict[str, list[float]] = {kind: [] for kind in kinds}
    order = list(kinds)
    for index in range(size.requests):
        for kind in order[index % 3 :] + order[: index % 3]:
            times[kind].append(await kinds[kind]())
    started = time.perf_counter()
    ids, cursor = await walk(server)
    metrics: Metrics = {"walk": time.perf_counter() - started}
    metrics["listed"] = float(len(ids) == len(set(ids)) == history.runs)
    deep = f"{RUNS}?limit=100&before={cursor}"
    times["deep_ms"] = [
        await timed_get(server, deep) for _ in range(size.requests if cursor else 0)
    ]
    metrics.update({kind: median(values) for kind, values in times.items()})
    return metrics


async def one_server(ctx: Context, history: History, size: Scale) -> Metrics:
    """Start a server on ``history``'s data dir, measure it, stop it."""
    server = nebula_server(ctx.workdir, data_dir=str(history.data_dir))
    server.status_path = READY
    started = time.perf_counter()
    await server.start(poll=POLL_SECONDS)
    metrics: Metrics = {"startup": time.perf_counter() - started}
    try:
        await asyncio.sleep(SETTLE_SECONDS)
        metrics["rss_start"] = server.rss() / MiB
        metrics.update(await requests(server, history, size))
        metrics["rss_after"] = server.rss() / MiB
    finally:
        await server.stop()
    return metrics


def checks(samples: Samples, full: str) -> list[Check]:
    growth = [
        a - b
        for a, b in zip(samples.of(full, "rss_start"), samples.of(EMPTY, "rss_start"), strict=True)
    ]
    oldest_over_newest = ratios(samples.of(full, "oldest_ms"), samples.of(full, "newest_ms"))
    return [
        Check(f"RSS after start-up: {full} - empty", growth, "<=", 50, unit=" MiB", fmt="{:.1f}"),
        samples.paired(f"start-up time: {full} / empty", "startup", full, EMPTY, "<=", 1.5),
        samples.bound(f"first page (limit=100), {full}", full, PAGE, "<=", 20),
        Check(f"GET runs/{{id}}, {full}: oldest / newest", oldest_over_newest, "<=", 2),
        every(f"paging lists each of the {full} exactly once", samples.share(full, "listed")),
    ]


async def measure(ctx: Context, size: Scale) -> RowResult:
    full = f"{size.runs:,} runs"
    row = ctx.row(
        f"a server on {size.runs:,} stored finished runs vs on an empty data dir",
        "RSS after start-up ≤ 50 MiB above the empty server's; start-up ≤ 1.5x the empty "
        "server's; first page (limit=100) ≤ 20 ms; GET of the oldest run ≤ 2x the newest's",
    )
    ctx.log(f"{ctx.label}: data dir of {full} ...")
    loop = asyncio.get_running_loop()
    history = await loop.run_in_executor(None, cached, size.runs)
    blank = await loop.run_in_executor(None, empty, ctx.workdir)
    how = "reused from the cache, built" if history.cached else "built"
    ctx.log(f"{ctx.label}: {history.data_dir} {how} in {history.build_seconds:.1f} s")
    dirs = {full: history, EMPTY: blank}

    async def trial(name: str, rep: int) -> Metrics:
        return await one_server(ctx, dirs[name], size)

    progress = "start-up {startup:.2f}s RSS {rss_start:.0f} MiB page {page_ms:.2f} ms"
    samples = await repeat(ctx, size.reps, [full, EMPTY], trial, progress)
    row.series = [
        *samples.series(STARTUP, RSS_START, RSS_AFTER, PAGE, DEEP, WALK),
        *samples.series(OLDEST, NEWEST, peers=[full]),
    ]
    row.checks = checks(samples, full)
    row.notes += [
        f"The data dir of {full} was {how} in {history.build_seconds:.1f} s (at "
        f"{history.built_at}; {history.data_dir.parent}).",
        NOTE,
    ]
    if ctx.wants_profile(row):
        server = await nebula_server(ctx.workdir, data_dir=str(history.data_dir)).start()
        try:
            await ctx.profile_nebula(row, server, lambda: requests(server, history, size))
        finally:
            await server.stop()
    return row


MEASUREMENT = Measurement(8, __name__, FULL, QUICK, measure)
