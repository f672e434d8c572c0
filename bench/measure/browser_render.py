"""Browser render: the widget in headless Chromium versus xterm.js alone, in the same page.

Row 7 of the results. The widget renders a nebula run of bulk output; xterm.js alone writes
the same bytes with the widget's terminal options; three bare-socket references (no target)
show what getting the bytes into the page costs without the widget. The page and its driver
are :mod:`bench.browser_page` and ``bench/page/``. Target: the widget's time ≤ 1.5x xterm.js
alone; a 50 ms timer in the page never lags more than 250 ms.

The target is checked in a second Chromium that no DevTools client watches the network of
(:class:`QuietBrowser`). Playwright enables the DevTools Network domain on every page it drives,
and Chromium then copies the payload of every WebSocket frame the page receives into a DevTools
event, in the renderer, and ships it through the browser process to Playwright's driver: for
100 MB that is as much work again as the page's own, on a 2-core machine, and a cost no user's
page pays. It hits the socket paths only (xterm.js alone opens no socket). The Playwright page's
ratio is still reported, with the references.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import subprocess
import tempfile
import time
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from .. import wsclient
from ..browser_page import (
    CHROMIUM,
    CHROMIUM_ARGS,
    FILES,
    BrowserBench,
    BrowserResult,
    missing_files,
)
from ..context import Context, Measurement
from ..repeat import Metric, Metrics, Samples, repeat
from ..results_model import Check, RowResult, Series, every
from ..servers import Server, _die_with_bench
from ..sizes import Bulk

FULL = Bulk(bytes=100_000_000, reps=3)
QUICK = Bulk(bytes=8_000_000, reps=2)
ALONE = "xterm alone"
WIDGET = "widget"
# The same two paths in a page without the DevTools Network domain: the target's pair.
QUIET = ", no DevTools Network"
QUIET_ALONE = ALONE + QUIET
QUIET_WIDGET = WIDGET + QUIET
QUIET_REFERENCE = "bare socket, nebula stream" + QUIET
REFERENCES = [
    "bare socket, ceiling JSON frames",
    "bare socket, ceiling binary frames",
    "bare socket, nebula stream",
]
PATHS = [QUIET_ALONE, QUIET_WIDGET, QUIET_REFERENCE, ALONE, WIDGET, *REFERENCES]
WIDGETS = [QUIET_WIDGET, WIDGET]
# What Playwright adds to a headless launch that bears on a page's timing, so that the quiet
# Chromium runs the page as the Playwright one does.
QUIET_SWITCHES = [
    "--headless",
    "--hide-scrollbars",
    "--mute-audio",
    "--disable-field-trial-config",
    "--disable-background-timer-throttling",
    "--disable-backgrounding-occluded-windows",
    "--disable-renderer-backgrounding",
    "--disable-ipc-flooding-protection",
    "--disable-hang-monitor",
    "--force-color-profile=srgb",
]
VIEWPORT = {"width": 1000, "height": 800}  # BrowserBench's
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
QUIET_NOTE = (
    "', no DevTools Network' rows: the same page and paths in a second headless Chromium "
    "(the same switches, plus those of Playwright's that bear on timing), driven over a bare "
    "DevTools connection that enables only Page, Runtime and Fetch (to serve the page's "
    "scripts). The target is checked there. Playwright enables the Network domain on every "
    "page it drives, and Chromium then copies each WebSocket frame's payload into a DevTools "
    "event and ships it to Playwright's driver: work that only the socket paths pay (xterm.js "
    "alone opens no socket) and no user's page does. The Playwright page's widget / xterm "
    "alone ratio is still reported, beside the references, which pay it too; the bare nebula "
    "stream is also measured without it."
)


class DevToolsPage:
    """What :class:`BrowserBench` asks of a Playwright page (``evaluate``,
    ``wait_for_function``), over a bare DevTools connection attached to one page target."""

    def __init__(self) -> None:
        self.socket: wsclient.WSClient | None = None
        self.session = ""  # the page target's, once attached
        self._ids = itertools.count(1)
        self._answers: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._listeners: dict[str, Callable[[dict[str, Any]], None]] = {}

    def received(self, _opcode: int, payload: bytes) -> None:
        """One message from the browser: an answer, or an event of the page's session."""
        message = json.loads(payload)
        answer = self._answers.pop(message.get("id", -1), None)
        if answer is not None:
            if not answer.done():
                answer.set_result(message)
        elif message.get("sessionId") == self.session:
            listener = self._listeners.get(message.get("method", ""))
            if listener is not None:
                listener(message.get("params", {}))

    def on(self, method: str, listener: Callable[[dict[str, Any]], None]) -> None:
        self._listeners[method] = listener

    async def send(self, method: str, params: dict[str, Any]) -> Any:
        """A command to the page's session (to the browser before one is attached)."""
        assert self.socket is not None
        ident = next(self._ids)
        message: dict[str, Any] = {"id": ident, "method": method, "params": params}
        if self.session:
            message["sessionId"] = self.session
        answer: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._answers[ident] = answer
        self.socket.send_text(json.dumps(message))
        reply = await asyncio.wait_for(answer, 600)
        if "error" in reply:
            raise RuntimeError(f"DevTools {method}: {reply['error']}")
        return reply["result"]

    async def evaluate(self, function: str, arg: Any = None) -> Any:
        """``function(arg)`` in the page, awaited; its value as JSON, as Playwright returns it."""
        result = await self.send(
            "Runtime.evaluate",
            {
                "expression": f"({function})({json.dumps(arg)})",
                "awaitPromise": True,
                "returnByValue": True,
            },
        )
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            raise RuntimeError(details.get("exception", {}).get("description") or str(details))
        return result["result"].get("value")

    async def wait_for_function(self, function: str, timeout: float, polling: float) -> None:
        """Until ``function()`` is truthy, asked every ``polling`` ms for ``timeout`` ms."""
        deadline = time.monotonic() + timeout / 1000
        while not await self.evaluate(function):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{function} stayed false for {timeout / 1000:.0f} s")
            await asyncio.sleep(polling / 1000)


class QuietBrowser(BrowserBench):
    """:class:`BrowserBench` in a Chromium of its own, driven over a bare DevTools connection
    that never enables the Network domain. The page is put on the server's origin as
    BrowserBench puts it, its scripts served by the same routine through the Fetch domain."""

    def __init__(self, server: Server) -> None:
        super().__init__(server)
        self._profile = tempfile.TemporaryDirectory(prefix="nebula-bench-chromium-")
        self._process: subprocess.Popen[bytes] | None = None
        self._fulfilling: set[asyncio.Task[None]] = set()

    async def start(self) -> QuietBrowser:
        self._process = subprocess.Popen(
            [
                CHROMIUM,
                *CHROMIUM_ARGS,
                *QUIET_SWITCHES,
                f"--user-data-dir={self._profile.name}",
                "--remote-debugging-port=0",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=_die_with_bench,
        )
        page = DevToolsPage()
        port, path = await self._devtools_address()
        page.socket = await wsclient.connect("127.0.0.1", port, path, page.received)
        target = await page.send("Target.createTarget", {"url": "about:blank"})
        attach = {"targetId": target["targetId"], "flatten": True}
        page.session = (await page.send("Target.attachToTarget", attach))["sessionId"]
        page.on("Fetch.requestPaused", lambda params: self._fulfil(page, params))
        loaded: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def load_fired(_params: dict[str, Any]) -> None:
            if not loaded.done():
                loaded.set_result(None)

        page.on("Page.loadEventFired", load_fired)
        await page.send("Fetch.enable", {"patterns": [{"urlPattern": "*/bench-page/*"}]})
        await page.send("Page.enable", {})
        metrics = {**VIEWPORT, "deviceScaleFactor": 1, "mobile": False}
        await page.send("Emulation.setDeviceMetricsOverride", metrics)
        host = f"http://127.0.0.1:{self.server.port}/bench-page-host"
        await page.send("Page.navigate", {"url": host})
        await asyncio.wait_for(loaded, 60)
        html = FILES["bench.html"].read_text().replace("__TOKEN__", self.server.token)
        await page.evaluate(
            "(html) => { document.open(); document.write(html); document.close(); }", html
        )
        await page.wait_for_function("() => typeof window.xtermAlone === 'function'", 30000, 50)
        self.page = page
        return self

    async def _devtools_address(self, timeout: float = 30.0) -> tuple[int, str]:
        """Chromium writes its DevTools port and browser path into the profile once it listens."""
        announced = Path(self._profile.name) / "DevToolsActivePort"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            lines = announced.read_text().split() if announced.exists() else []
            if len(lines) == 2:
                return int(lines[0]), lines[1]
            if self._process is None or self._process.poll() is not None:
                break
            await asyncio.sleep(0.05)
        raise RuntimeError(f"{CHROMIUM} did not open its DevTools port")

    def _fulfil(self, page: DevToolsPage, params: dict[str, Any]) -> None:
        """A paused request for /bench-page/…, answered by BrowserBench's own routine."""

        async def fulfil(
            status: int = 200, body: str | bytes = b"", content_type: str = ""
        ) -> None:
            data = body.encode() if isinstance(body, str) else body
            headers = [{"name": "Content-Type", "value": content_type or "text/plain"}]
            await page.send(
                "Fetch.fulfillRequest",
                {
                    "requestId": params["requestId"],
                    "responseCode": status,
                    "responseHeaders": headers,
                    "body": base64.b64encode(data).decode(),
                },
            )

        route = SimpleNamespace(
            request=SimpleNamespace(url=params["request"]["url"]), fulfill=fulfil
        )
        task = asyncio.ensure_future(self._serve(route))
        self._fulfilling.add(task)
        task.add_done_callback(self._fulfilling.discard)

    async def stop(self) -> None:
        page = self.page
        if isinstance(page, DevToolsPage) and page.socket is not None:
            page.socket.close()
        process = self._process
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                await asyncio.wait_for(asyncio.to_thread(process.wait), 10)
            except TimeoutError:
                process.kill()
        self._profile.cleanup()


def path_jobs(
    browser: BrowserBench, quiet: QuietBrowser, ceiling: Server, size: int
) -> dict[str, Callable[[], Awaitable[BrowserResult]]]:
    """How each path renders ``size`` bytes. The references: one socket straight into
    xterm.js, no batching, no acks."""
    return {
        QUIET_ALONE: lambda: quiet.xterm_alone(size),
        QUIET_WIDGET: lambda: quiet.widget(size),
        QUIET_REFERENCE: lambda: quiet.bare(quiet.server, size),
        ALONE: lambda: browser.xterm_alone(size),
        WIDGET: lambda: browser.widget(size),
        "bare socket, ceiling JSON frames": lambda: browser.bare(ceiling, size),
        "bare socket, ceiling binary frames": lambda: browser.bare(ceiling, size, binary=True),
        "bare socket, nebula stream": lambda: browser.bare(browser.server, size),
    }


def series(samples: Samples) -> list[Series]:
    """Times, times paired with xterm.js alone of the same page, the widget's own times, timer
    lags, bytes."""

    def paired(path: str, alone: str) -> Series:
        ratio = samples.ratio("seconds", path, alone)
        return Series(path, f"÷ {alone} (paired)", "x", ratio, "{:.2f}")

    return [
        *samples.series(SECONDS),
        *(paired(path, QUIET_ALONE) for path in [QUIET_WIDGET, QUIET_REFERENCE]),
        *(paired(path, ALONE) for path in [WIDGET, *REFERENCES]),
        *samples.series(STATUS, STARVED, peers=WIDGETS),
        *samples.series(LAG),
        *samples.series(SHOWN, peers=WIDGETS),
    ]


async def page_profile(
    browser: BrowserBench, jobs: Mapping[str, Callable[[], Awaitable[object]]]
) -> str:
    """The page's main thread under the CDP sampling profiler, for three of the paths."""
    parts = [
        "Page main thread, CDP sampling profiler, in the Playwright page "
        "(JavaScript is minified: grouped by script; the widget bundles its own xterm.js):"
    ]
    for path in (ALONE, WIDGET, "bare socket, nebula stream"):
        parts.append(await browser.cpu_profile(path, jobs[path]))
    return "\n\n".join(parts)


async def measure(ctx: Context, size: Bulk) -> RowResult:
    row = ctx.row(
        f"the widget in headless Chromium rendering a {size.bytes / 1e6:g} MB run",
        "time to the final status ≤ 1.5x xterm.js alone writing the same bytes in the same page "
        "(a page without the DevTools Network domain); a 50 ms timer in the page never lags "
        "more than 250 ms",
    )
    missing = missing_files()
    if missing:
        row.error = "missing: " + ", ".join(missing) + " (cd js && npm install && npm run build)"
        return row
    total = size.bytes - size.bytes % 100
    server = await ctx.shared("nebula")
    browser = await BrowserBench(server).start()
    quiet = QuietBrowser(server)
    try:
        await quiet.start()
        jobs = path_jobs(browser, quiet, await ctx.shared("ceiling"), total)

        async def trial(path: str, rep: int) -> Metrics:
            result = await jobs[path]()
            metrics = {"seconds": result.seconds, "lag": result.max_lag_ms}
            if path in WIDGETS:
                metrics.update(
                    status=result.status_seconds,
                    starved=result.starved_seconds,
                    shown=result.bytes_shown / total,
                )
            return metrics

        samples = await repeat(ctx, size.reps, PATHS, trial, "{seconds:.2f}s")
        row.series = series(samples)
        time_check = samples.paired(
            "widget / xterm.js alone, time (no DevTools Network)",
            "seconds",
            QUIET_WIDGET,
            QUIET_ALONE,
            "<=",
            1.5,
        )
        row.checks = [
            time_check,
            Check(
                "widget: max timer lag",
                [max(lag for path in WIDGETS for lag in samples.of(path, "lag"))],
                "<=",
                250,
                unit=" ms",
                fmt="{:.0f}",
            ),
            every(
                "widget: bytes shown",
                min(shown for path in WIDGETS for shown in samples.of(path, "shown")),
            ),
        ]
        if ctx.profile == "always" or (ctx.profile == "missed" and not time_check.met):
            ctx.log(f"{ctx.label}: profiling the page (CDP sampling profiler)")
            row.profile = await page_profile(browser, jobs)
    finally:
        await quiet.stop()
        await browser.stop()
    row.notes.append(NOTE)
    row.notes.append(QUIET_NOTE)
    return row


MEASUREMENT = Measurement(7, __name__, FULL, QUICK, measure)
