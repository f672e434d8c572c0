"""Browser render: the widget in headless Chromium versus xterm.js alone, in the same page.

Row 7 of the results. The widget renders a nebula run of bulk output; xterm.js alone writes
the same bytes with the widget's terminal options; three bare-socket references (no target)
show what getting the bytes into the page costs without the widget. The page and its driver
are :mod:`bench.browser_page` and ``bench/page/``. Target: the widget's time ≤ 1.5x xterm.js
alone; a 50 ms timer in the page never lags more than 250 ms.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

from ..browser_page import BrowserBench, BrowserResult, missing_files
from ..context import Context, Measurement
from ..repeat import Metric, Metrics, Samples, repeat
from ..results_model import Check, RowResult, Series, every
from ..servers import Server
from ..sizes import Bulk

FULL = Bulk(bytes=100_000_000, reps=3)
QUICK = Bulk(bytes=8_000_000, reps=2)
ALONE = "xterm alone"
REFERENCES = [
    "bare socket, ceiling JSON frames",
    "bare socket, ceiling binary frames",
    "bare socket, nebula stream",
]
PATHS = [ALONE, "widget", *REFERENCES]
SECONDS = Metric("seconds", "time to every byte shown", "s", "{:.2f}")
STATUS = Metric("status", "time to the final status alone", "s", "{:.2f}")
STARVED = Metric("starved", "starved: all received already parsed", "s", "{:.2f}")
LAG = Metric("lag", "max lag of a 50 ms timer", "ms", "{:.0f}")
SHOWN = Metric("shown", "bytes shown", "", "{:.1%}")
NOTE = (
    "The widget's time ends when the final status is shown AND xterm.js has parsed every "
    "byte (the later of the two). xterm.js alone uses the widget's terminal options, font, "
    "colours and size and the same 4 MiB flow-control window, writing 65,500-character "
    "blocks. 'bare socket' rows: a WebSocket whose every output frame goes straight into "
    "term.write (JSON parsed, or binary frames as bytes), fed by the ceiling server or by "
    "nebula's stream; they are references, not targets. 'starved' is the time during which "
    "everything the widget had received was already acknowledged (parsed), i.e. it waited "
    "for the server. The page is served on the server's origin by Playwright routing."
)


def path_jobs(
    browser: BrowserBench, ceiling: Server, size: int
) -> dict[str, Callable[[], Awaitable[BrowserResult]]]:
    """How each path renders ``size`` bytes. The references: one socket straight into
    xterm.js, no batching, no acks."""
    return {
        ALONE: lambda: browser.xterm_alone(size),
        "widget": lambda: browser.widget(size),
        "bare socket, ceiling JSON frames": lambda: browser.bare(ceiling, size),
        "bare socket, ceiling binary frames": lambda: browser.bare(ceiling, size, binary=True),
        "bare socket, nebula stream": lambda: browser.bare(browser.server, size),
    }


def series(samples: Samples) -> list[Series]:
    """Times, times paired with xterm.js alone, the widget's own times, timer lags, bytes."""
    paired = [
        Series(path, "÷ xterm alone (paired)", "x", samples.ratio("seconds", path, ALONE), "{:.2f}")
        for path in PATHS[2:]
    ]
    return [
        *samples.series(SECONDS),
        *paired,
        *samples.series(STATUS, STARVED, peers=["widget"]),
        *samples.series(LAG),
        *samples.series(SHOWN, peers=["widget"]),
    ]


async def page_profile(
    browser: BrowserBench, jobs: Mapping[str, Callable[[], Awaitable[object]]]
) -> str:
    """The page's main thread under the CDP sampling profiler, for three of the paths."""
    parts = [
        "Page main thread, CDP sampling profiler "
        "(JavaScript is minified: grouped by script; the widget bundles its own xterm.js):"
    ]
    for path in (ALONE, "widget", "bare socket, nebula stream"):
        parts.append(await browser.cpu_profile(path, jobs[path]))
    return "\n\n".join(parts)


async def measure(ctx: Context, size: Bulk) -> RowResult:
    row = ctx.row(
        f"the widget in headless Chromium rendering a {size.bytes / 1e6:g} MB run",
        "time to the final status ≤ 1.5x xterm.js alone writing the same bytes in the same page; "
        "a 50 ms timer in the page never lags more than 250 ms",
    )
    missing = missing_files()
    if missing:
        row.error = "missing: " + ", ".join(missing) + " (cd js && npm install && npm run build)"
        return row
    total = size.bytes - size.bytes % 100
    browser = await BrowserBench(await ctx.shared("nebula")).start()
    try:
        jobs = path_jobs(browser, await ctx.shared("ceiling"), total)

        async def trial(path: str, rep: int) -> Metrics:
            result = await jobs[path]()
            metrics = {"seconds": result.seconds, "lag": result.max_lag_ms}
            if path == "widget":
                metrics.update(
                    status=result.status_seconds,
                    starved=result.starved_seconds,
                    shown=result.bytes_shown / total,
                )
            return metrics

        samples = await repeat(ctx, size.reps, PATHS, trial, "{seconds:.2f}s")
        row.series = series(samples)
        time_check = samples.paired(
            "widget / xterm.js alone, time", "seconds", "widget", ALONE, "<=", 1.5
        )
        row.checks = [
            time_check,
            Check(
                "widget: max timer lag",
                [max(samples.of("widget", "lag"))],
                "<=",
                250,
                unit=" ms",
                fmt="{:.0f}",
            ),
            every("widget: bytes shown", min(samples.of("widget", "shown"))),
        ]
        if ctx.profile == "always" or (ctx.profile == "missed" and not time_check.met):
            ctx.log(f"{ctx.label}: profiling the page (CDP sampling profiler)")
            row.profile = await page_profile(browser, jobs)
    finally:
        await browser.stop()
    row.notes.append(NOTE)
    return row


MEASUREMENT = Measurement(7, __name__, FULL, QUICK, measure)
