"""The bench page in headless Chromium: the widget, xterm.js alone and bare sockets, in one page.

Used by :mod:`bench.measure.browser_render`.

The page (``bench/page/``) is served *on the nebula server's origin* by Playwright's request
routing (``/bench-page/*`` never reaches the server), so the widget discovers the server from
the page's ``jupyter-config-data`` exactly as in JupyterLab and connects its WebSocket to the
real server, with the server token in the query as JupyterLab pages do.
"""

from __future__ import annotations

import collections
import dataclasses
import mimetypes
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from .peers import Workload, make_gate, open_gate, writer_argv
from .servers import REPO, Server
from .writer import block

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PAGE_DIR = Path(__file__).resolve().parent / "page"
FILES = {
    "bench.html": PAGE_DIR / "bench.html",
    "bench.js": PAGE_DIR / "bench.js",
    "widget.js": REPO / "nebula_jupyter" / "static" / "widget.js",
    "widget.css": REPO / "nebula_jupyter" / "static" / "widget.css",
    "xterm.js": REPO / "js" / "node_modules" / "@xterm" / "xterm" / "lib" / "xterm.js",
    "addon-fit.js": REPO / "js" / "node_modules" / "@xterm" / "addon-fit" / "lib" / "addon-fit.js",
}


@dataclasses.dataclass
class BrowserResult:
    path: str  # "widget", "xterm alone" or a bare-socket reference
    bytes: int
    seconds: float
    max_lag_ms: float
    status_seconds: float = 0.0
    bytes_shown: int = 0
    status: str = ""
    starved_seconds: float = 0.0  # everything received already parsed: waiting for the server
    acks: int = 0
    messages: int = 0
    onmessage_seconds: float = 0.0


def missing_files() -> list[str]:
    return [str(path) for path in FILES.values() if not path.exists()]


class BrowserBench:
    def __init__(self, server: Server) -> None:
        self.server = server
        self._pw: Any = None
        self._browser: Any = None
        self.page: Any = None
        self.console: list[str] = []

    async def start(self) -> BrowserBench:
        from playwright.async_api import async_playwright

        self._pw = await async_playwright().start()
        self._browser = await self._pw.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        context = await self._browser.new_context(viewport={"width": 1000, "height": 800})
        page = await context.new_page()
        page.on("console", lambda message: self.console.append(message.text))
        page.on("pageerror", lambda error: self.console.append(f"pageerror: {error}"))
        await page.route("**/bench-page/**", self._serve)
        # The document must come from the server itself (a loopback address): Chromium's
        # local-network-access checks block a routed document's sockets to 127.0.0.1. So load
        # one of Jupyter's own pages (its 404 page), then replace its content in place (same
        # origin, same address space); the page's scripts are routed sub-resources.
        await page.goto(f"http://127.0.0.1:{self.server.port}/bench-page-host")
        html = FILES["bench.html"].read_text().replace("__TOKEN__", self.server.token)
        await page.set_content(html)
        await page.wait_for_function("typeof window.xtermAlone === 'function'")
        self.page = page
        return self

    async def _serve(self, route: Any) -> None:
        name = route.request.url.split("/bench-page/", 1)[1].split("?", 1)[0]
        if name == "block.txt":
            await route.fulfill(body=block(), content_type="text/plain; charset=utf-8")
            return
        path = FILES.get(name)
        if path is None:
            await route.fulfill(status=404, body="not found")
            return
        body = path.read_bytes()
        if name == "bench.html":
            body = body.replace(b"__TOKEN__", self.server.token.encode())
        content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
        await route.fulfill(body=body, content_type=content_type)

    async def xterm_alone(self, size: int) -> BrowserResult:
        result = await self.page.evaluate("(n) => xtermAlone(n)", size)
        return BrowserResult("xterm alone", size, result["ms"] / 1000, result["maxLagMs"])

    async def bare(self, source: Server, size: int, *, binary: bool = False) -> BrowserResult:
        """A bare socket straight into xterm.js (no batching, no acks), fed by the ceiling
        server (JSON or binary frames) or by nebula's own stream (JSON, no window)."""
        gate = make_gate()
        argv = writer_argv(gate, Workload("bulk", bytes=size))
        if source is self.server:
            record = await source.json("POST", "/api/nebula/runs", {"command": argv})
            url = f"ws://127.0.0.1:{source.port}/api/nebula/runs/{record['id']}/stream?token={source.token}"
            label = "bare socket → xterm.js, nebula stream"
        else:
            created = await source.json("POST", "/runs", {"argv": argv})
            url = f"ws://127.0.0.1:{source.port}/runs/{created['id']}/stream?token={source.token}"
            url += "&binary=1" if binary else ""
            label = f"bare socket → xterm.js, ceiling {'binary' if binary else 'JSON'} frames"
        await self.page.evaluate("(url) => bareMount(url)", url)
        await self.page.evaluate("() => bareStart()")
        await open_gate(gate)
        result = await self.page.evaluate("() => bareResult()")
        if source is self.server:
            await source.http("DELETE", f"/api/nebula/runs/{record['id']}")
        return BrowserResult(label, size, result["ms"] / 1000, result["maxLagMs"])

    async def widget(self, size: int, timeout: float = 600.0) -> BrowserResult:
        gate = make_gate()
        workload = Workload("bulk", bytes=size)
        record = await self.server.json(
            "POST", "/api/nebula/runs", {"command": writer_argv(gate, workload)}
        )
        try:
            await self.page.evaluate("([id, n]) => widgetMount(id, n)", [record["id"], size])
            await self.page.evaluate("() => widgetStart()")
            await open_gate(gate)
            await self.page.wait_for_function(
                "() => widgetDone()", timeout=timeout * 1000, polling=50
            )
            result = await self.page.evaluate("() => widgetResult()")
        finally:
            await self.page.evaluate("() => widgetUnmount()")
            await self.server.http("DELETE", f"/api/nebula/runs/{record['id']}")
        return BrowserResult(
            "widget",
            size,
            result["ms"] / 1000,
            result["maxLagMs"],
            status_seconds=result["statusMs"] / 1000,
            bytes_shown=int(result["bytesWritten"]),
            status=result["status"],
            starved_seconds=result["starvedMs"] / 1000,
            acks=int(result["acks"]),
            messages=int(result["messages"]),
            onmessage_seconds=result["onmessageMs"] / 1000,
        )

    async def cpu_profile(self, label: str, job: Callable[[], Awaitable[object]]) -> str:
        """The page's main thread during ``job`` (CDP sampling profiler), by category: idle,
        native work outside JavaScript ("(program)": WebSocket receive, style, layout, paint),
        garbage collection, and JavaScript self time per script."""
        cdp = await self.page.context.new_cdp_session(self.page)
        await cdp.send("Profiler.enable")
        await cdp.send("Profiler.setSamplingInterval", {"interval": 250})
        await cdp.send("Profiler.start")
        await job()
        profile = (await cdp.send("Profiler.stop"))["profile"]
        await cdp.detach()
        nodes = {node["id"]: node["callFrame"] for node in profile["nodes"]}
        spent: collections.Counter[str] = collections.Counter()
        for sample, delta in zip(profile["samples"], profile["timeDeltas"], strict=False):
            frame = nodes[sample]
            name = frame["functionName"]
            if name in ("(idle)", "(program)", "(garbage collector)"):
                spent[name] += delta
            else:
                script = frame["url"].rsplit("/", 1)[-1] or "(native)"
                spent[f"JS in {script}"] += delta
        total = sum(spent.values()) or 1
        parts = [f"{label}: {total / 1e6:.2f} s sampled"]
        parts += [
            f"  {us / total:6.1%}  {us / 1e6:6.2f} s  {name}" for name, us in spent.most_common(8)
        ]
        return "\n".join(parts)

    async def stop(self) -> None:
        if self._browser is not None:
            await self._browser.close()
        if self._pw is not None:
            await self._pw.stop()
