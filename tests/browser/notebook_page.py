"""Drive a notebook in JupyterLab (or Notebook 7) and read the run widgets in it, through the
DOM only. Both UIs are built from the same notebook components, so the same selectors work."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from playwright.sync_api import Locator, Page

from .lab_server import LabServer
from .polling import poll

TERMINAL_STATUSES = ("succeeded", "failed", "cancelled")

# Installed before JupyterLab's own scripts: every status a badge shows, every phase of the
# cancel button and every connection state of a view, in order, per run. A MutationObserver
# sees each attribute write, so a short-lived "running" or "pending" is never missed the way
# polling could miss it.
STATE_RECORDER = """
window.__nebulaStates = [];
new MutationObserver((mutations) => {
  for (const m of mutations) {
    const el = m.target;
    if (!(el instanceof Element)) continue;
    const kind = el.classList.contains("nebula-badge") ? "status"
      : el.classList.contains("nebula-cancel") ? "phase"
      : el.classList.contains("nebula-run") && m.attributeName === "data-connection"
        ? "connection" : null;
    if (kind === null) continue;
    const root = el.closest(".nebula-run");
    window.__nebulaStates.push({run: root ? root.dataset.runId : null, kind,
                                value: el.getAttribute(m.attributeName)});
  }
}).observe(document, {attributes: true, subtree: true,
                      attributeFilter: ["data-status", "data-phase", "data-connection"]});
"""

# Repeating 50 ms timer: the largest delay past its due time is how long the page froze.
LAG_PROBE = """
() => {
  const probe = {maxLag: 0, ticks: 0, started: performance.now(), last: performance.now()};
  probe.handle = setInterval(() => {
    const now = performance.now();
    probe.maxLag = Math.max(probe.maxLag, now - probe.last - 50);
    probe.last = now;
    probe.ticks += 1;
  }, 50);
  window.__nebulaLag = probe;
}
"""

PANEL = ".jp-NotebookPanel:visible"


class NotebookPage:
    """One notebook open in one page: JupyterLab's (``ui="lab"``) or Notebook 7's
    (``ui="notebook7"``)."""

    def __init__(self, page: Page, lab: LabServer, name: str, ui: str = "lab") -> None:
        if ui not in ("lab", "notebook7"):
            raise ValueError(f"unknown ui {ui!r}")
        self.page = page
        self.lab = lab
        self.name = name
        self.ui = ui
        self.path = lab.root_dir / name

    # -- the notebook ------------------------------------------------------------------------

    def open(self) -> NotebookPage:
        if self.ui == "lab":
            self.page.goto(self.lab.notebook_url(self.name))
        else:
            self.page.goto(self.lab.notebook7_url(self.name))
        self.wait_ready()
        return self

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Wait for the cells, and for this page's kernel connection to be up and idle (a cell
        run before that may never be sent)."""
        self.cells.first.wait_for(timeout=timeout * 1000)
        poll(
            self._kernel_connected,
            timeout,
            f"a kernel connected to {self.name}",
            page=self.page,
            interval=0.2,
        )
        self.page.locator(f"{PANEL} .jp-Notebook-ExecutionIndicator[data-status='idle']").wait_for(
            timeout=timeout * 1000
        )

    def _kernel_connected(self) -> bool:
        return any(
            session.get("path") == self.name
            and (session.get("kernel") or {}).get("connections", 0) >= 1
            and (session.get("kernel") or {}).get("execution_state") == "idle"
            for session in self.lab.json("GET", "api/sessions") or []
        )

    @property
    def cells(self) -> Locator:
        return self.page.locator(f"{PANEL} .jp-Notebook .jp-Cell")

    def run_cell(self, index: int) -> Locator:
        """Run one code cell with Shift+Enter; return the cell once its execution started."""
        cell = self.cells.nth(index)
        cell.locator(".jp-InputArea-editor").click()
        self.page.keyboard.press("Shift+Enter")
        prompt = cell.locator(".jp-InputArea-prompt")
        poll(
            lambda: not re.fullmatch(r"\[\s*\]:", prompt.inner_text().strip()),
            20,
            f"cell {index} of {self.name} started",
            page=self.page,
        )
        return cell

    def run_all(self) -> None:
        """Run > Run All Cells."""
        self.page.get_by_role("menuitem", name="Run", exact=True).click()
        self.page.locator(".lm-Menu-item").filter(has_text="Run All Cells").first.click()

    def clear_all_outputs(self) -> None:
        """Edit > Clear Outputs of All Cells: the widget views are removed from the page."""
        self.page.get_by_role("menuitem", name="Edit", exact=True).click()
        self.page.locator(".lm-Menu-item").filter(has_text="Clear Outputs of All Cells").click()

    def widgets(self, cell: Locator | None = None) -> Locator:
        scope = cell if cell is not None else self.page.locator(PANEL)
        return scope.locator(".jp-OutputArea-output .nebula-run")

    def save(self) -> dict[str, Any]:
        """Save with the keyboard (Ctrl+S) and return the notebook as written to disk."""
        before = self.path.stat().st_mtime_ns
        self.page.locator(f"{PANEL} .jp-Notebook").click(position={"x": 5, "y": 5})
        self.page.keyboard.press("Escape")
        self.page.keyboard.press("Control+s")
        poll(lambda: self.path.stat().st_mtime_ns != before, 20, "notebook saved", page=self.page)
        self.page.locator(".lm-TabBar-tab.jp-mod-current.jp-mod-dirty").wait_for(
            state="detached", timeout=10_000
        )
        return dict(json.loads(self.path.read_text()))

    # -- the page ----------------------------------------------------------------------------

    def history(self, run_id: str, kind: str = "status") -> list[str]:
        """Every badge ``status`` (or cancel ``phase``, or ``connection`` state) the views of
        ``run_id`` showed, in order, consecutive repeats dropped."""
        seen = self.page.evaluate("() => window.__nebulaStates || []")
        shown: list[str] = []
        for entry in seen:
            fresh = not shown or shown[-1] != entry["value"]
            if entry["run"] == run_id and entry["kind"] == kind and fresh:
                shown.append(entry["value"])
        return shown

    def start_lag_probe(self) -> None:
        self.page.evaluate(LAG_PROBE)

    def lag_probe(self) -> dict[str, float]:
        return dict(
            self.page.evaluate(
                "() => ({maxLag: window.__nebulaLag.maxLag, ticks: window.__nebulaLag.ticks,"
                " elapsedMs: performance.now() - window.__nebulaLag.started})"
            )
        )

    def screenshot(self, target: Locator | None, name: str, artifacts: Path) -> Path:
        path = artifacts / f"{name}.png"
        if target is None:
            self.page.screenshot(path=str(path))
        else:
            target.scroll_into_view_if_needed()
            target.screenshot(path=str(path))
        return path


# -- one widget ------------------------------------------------------------------------------


def wait_attr(
    widget: Locator, name: str, predicate: Any, timeout: float = 30.0, what: str = ""
) -> str:
    """Poll an attribute of the widget root until ``predicate(value)`` holds; return it."""

    def check() -> tuple[str] | None:
        value = widget.get_attribute(name)
        return (str(value),) if predicate(value) else None

    return poll(check, timeout, what or name, page=widget.page)[0]


def wait_status(widget: Locator, *statuses: str, timeout: float = 30.0) -> str:
    return wait_attr(
        widget, "data-status", lambda value: value in statuses, timeout, f"status {statuses}"
    )


def badge_text(widget: Locator) -> str:
    return widget.locator(".nebula-badge").inner_text().strip()


def terminal_lines(widget: Locator) -> list[str]:
    """The terminal's visible rows as text, trailing blank rows dropped.

    The DOM renderer only holds the rows on screen, so tests keep their output shorter than the
    terminal's height (or read the scrolled-to-bottom view on purpose). xterm also pauses
    rendering while the terminal is outside the browser's viewport, hence the scroll.
    """
    widget.scroll_into_view_if_needed()
    # A terminal that was out of sight catches up once it is in sight: xterm redraws, and the
    # widget grows to its output (it waits while off screen). A few frames cover both.
    widget.evaluate(
        "() => new Promise(done => { let n = 3; const tick = () => --n ? "
        "requestAnimationFrame(tick) : done(); requestAnimationFrame(tick); })"
    )
    rows: list[str] = widget.locator(".xterm-rows").evaluate(
        "el => Array.from(el.children, row => row.textContent)"
    )
    lines = [row.replace("\u00a0", " ").rstrip() for row in rows]
    while lines and lines[-1] == "":
        lines.pop()
    return lines


def wait_lines(widget: Locator, predicate: Any, timeout: float = 30.0, what: str = "") -> list[str]:
    """Poll the terminal text until ``predicate(lines)`` holds; return the lines."""

    def check() -> tuple[list[str]] | None:
        lines = terminal_lines(widget)
        return (lines,) if predicate(lines) else None

    try:
        return poll(check, timeout, f"terminal text {what}", page=widget.page, interval=0.1)[0]
    except AssertionError as err:
        raise AssertionError(f"{err}; the terminal shows {terminal_lines(widget)!r}") from None


def span_styles(widget: Locator, text: str) -> list[dict[str, str]]:
    """Class and computed colour of every terminal span whose text contains ``text``."""
    return list(
        widget.locator(".xterm-rows").evaluate(
            """(el, text) => Array.from(el.querySelectorAll("span"))
                 .filter(span => span.textContent.includes(text))
                 .map(span => ({text: span.textContent, cls: span.className,
                                color: getComputedStyle(span).color}))""",
            text,
        )
    )


def is_red(css_colour: str) -> bool:
    inner = css_colour[css_colour.index("(") + 1 : css_colour.index(")")]
    r, g, b = (int(float(part)) for part in inner.split(",")[:3])
    return r >= 150 and g <= 110 and b <= 110


def shown_lines(widget: Locator) -> list[str]:
    """The terminal rows a user actually sees, as text, blank rows dropped: scrolled into view
    first, then only the rows whose middle is not clipped away (by the terminal's own box, the
    output area or the notebook), i.e. where the page's hit test lands inside this terminal."""
    widget.scroll_into_view_if_needed()
    widget.evaluate(
        "() => new Promise(done => { let n = 3; const tick = () => --n ? "
        "requestAnimationFrame(tick) : done(); requestAnimationFrame(tick); })"
    )
    rows: list[str] = widget.evaluate(
        """root => {
          const term = root.querySelector(".nebula-term");
          return Array.from(root.querySelectorAll(".xterm-rows > div")).filter(row => {
            const box = row.getBoundingClientRect();
            const hit = document.elementFromPoint(box.left + 4, box.top + box.height / 2);
            return hit !== null && term.contains(hit);
          }).map(row => row.textContent);
        }"""
    )
    return [line for line in (row.replace("\u00a0", " ").rstrip() for row in rows) if line]


THEME_SETTINGS = "lab/api/settings/@jupyterlab/apputils-extension:themes"


def use_theme(target: NotebookPage | Page, theme: str) -> None:
    """Switch JupyterLab's theme like a user (Settings > Theme > ``theme``) and wait until the
    page (a notebook's, or any JupyterLab page) is painted with it."""
    page = target.page if isinstance(target, NotebookPage) else target
    page.get_by_role("menuitem", name="Settings", exact=True).click()
    page.locator(".lm-Menu-item").filter(has_text="Theme").first.hover()
    page.locator(".lm-Menu-item").filter(has_text=theme).first.click()
    page.locator(f"body[data-jp-theme-name='{theme}']").wait_for(state="attached")
    light = "true" if "Light" in theme else "false"
    poll(
        lambda: page.evaluate(
            "light => document.body.dataset.jpThemeLight === light && "
            "getComputedStyle(document.body).getPropertyValue('--jp-layout-color0').trim() !== ''",
            light,
        ),
        20,
        f"{theme} applied",
        page=page,
    )
    # JupyterLab shows its splash screen while it switches themes.
    page.locator("#jupyterlab-splash").wait_for(state="detached")
    # Views re-read the theme on the attribute change; let them paint it.
    page.evaluate(
        "() => new Promise(done => { let n = 3; const tick = () => --n ? "
        "requestAnimationFrame(tick) : done(); requestAnimationFrame(tick); })"
    )


def reset_theme(lab: LabServer) -> None:
    """Back to the default theme for the tests that follow (the setting is saved server-side)."""
    status, body = lab.request("PUT", THEME_SETTINGS, {"raw": "{}"})
    assert status < 400, (status, body[:300])


#: The ``open_notebook`` fixture: ``open_notebook(*cells)`` or ``open_notebook(copy_of=path)``.
OpenNotebook = Callable[..., NotebookPage]
