"""A finished run's view shows its end and keeps its size: after a reload (the view restored from
the saved notebook, on screen or below the fold), and from the moment its status is final."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Locator

from .notebook_page import NotebookPage, OpenNotebook, shown_lines, terminal_lines, wait_status
from .polling import poll
from .programs import start_run_cell

LINE_COUNT = 120
NUMBERED_FAST = f"""
for i in range(1, {LINE_COUNT + 1}):
    print(f"line {{i:03d}}")
"""
EXPECTED_LAST = f"line {LINE_COUNT:03d}"

# A cell whose output is taller than the browser's viewport: what follows it starts off screen.
TALL_CELL = "print('\\n'.join(f'filler {i}' for i in range(150)))"

# Installed in the page: the height of every run view at every animation frame where it (or the
# view's status) changed, so a change between two polls of the test is never missed.
HEIGHT_RECORDER = """
(() => {
  if (window.__nebulaHeights) return;
  window.__nebulaHeights = [];
  let views = 0;
  const last = new Map();
  const sample = () => {
    for (const root of document.querySelectorAll(".nebula-run")) {
      root.__nebulaView ??= ++views;
      const view = root.__nebulaView;
      const height = root.getBoundingClientRect().height;
      const entry = {view, status: root.dataset.status, height};
      const before = last.get(view);
      if (!before || before.status !== entry.status || before.height !== entry.height) {
        window.__nebulaHeights.push(entry);
        last.set(view, entry);
      }
    }
    window.__nebulaFrames = (window.__nebulaFrames || 0) + 1;
    requestAnimationFrame(sample);
  };
  requestAnimationFrame(sample);
})();
"""

TERMINAL = ("succeeded", "failed", "cancelled")


def record_heights(notebook: NotebookPage) -> None:
    """Record in this page and in every page it reloads to."""
    notebook.page.context.add_init_script(HEIGHT_RECORDER)
    notebook.page.evaluate(HEIGHT_RECORDER)


def heights_after_end(widget: Locator) -> list[float]:
    """Every height this view had once its status was final, in order."""
    view = widget.evaluate("el => el.__nebulaView")
    entries: list[dict[str, Any]] = widget.page.evaluate("() => window.__nebulaHeights")
    return [e["height"] for e in entries if e["view"] == view and e["status"] in TERMINAL]


def frames(notebook: NotebookPage) -> int:
    return int(notebook.page.evaluate("() => window.__nebulaFrames || 0"))


def wait_frames(notebook: NotebookPage, count: int) -> None:
    """Let the page draw ``count`` more frames: time for any late layout to show."""
    target = frames(notebook) + count
    poll(lambda: frames(notebook) >= target, 30, f"{count} frames drawn", page=notebook.page)


def assert_height_settled(notebook: NotebookPage, widget: Locator) -> None:
    """The view's height now, a second of frames later, and at every frame since its status
    became final, is one and the same."""
    height = widget.evaluate("el => el.getBoundingClientRect().height")
    wait_frames(notebook, 60)
    assert widget.evaluate("el => el.getBoundingClientRect().height") == height
    heights = heights_after_end(widget)
    assert heights, "no height was recorded after the run ended"
    assert set(heights) == {height}, f"the view changed height after the run ended: {heights}"


@pytest.mark.parametrize("where", ["on-screen", "below-the-fold"])
def test_a_restored_finished_view_opens_at_its_end(
    open_notebook: OpenNotebook, artifacts: Path, where: str
) -> None:
    cells = [start_run_cell(NUMBERED_FAST, "restored")]
    if where == "below-the-fold":
        cells.insert(0, TALL_CELL)
    notebook = open_notebook(*cells)
    if where == "below-the-fold":
        notebook.run_cell(0)
    widget = notebook.widgets(notebook.run_cell(len(cells) - 1)).first
    widget.wait_for()
    run_id = str(widget.get_attribute("data-run-id"))
    wait_status(widget, "succeeded")
    assert terminal_lines(widget)[-1] == EXPECTED_LAST  # a fresh view does
    notebook.save()

    record_heights(notebook)
    notebook.page.reload()
    notebook.wait_ready()
    scroller = notebook.page.locator(".jp-NotebookPanel:visible .jp-WindowedPanel-outer")
    scroller.evaluate("el => el.scrollTo(0, 0)")
    widget = notebook.widgets().first
    widget.wait_for(state="attached")
    assert widget.get_attribute("data-run-id") == run_id
    wait_status(widget, "succeeded")
    if where == "below-the-fold":
        top = widget.evaluate("el => el.getBoundingClientRect().top")
        window = notebook.page.viewport_size
        assert window is not None and top > window["height"], f"the view is on screen ({top})"

    # The user scrolls to it (shown_lines does), and sees the end without scrolling the terminal.
    lines = shown_lines(widget)
    notebook.screenshot(widget, f"restored-{where}", artifacts)
    assert lines and lines[-1] == EXPECTED_LAST, lines
    first = int(lines[0].split()[1])
    assert lines == [f"line {i:03d}" for i in range(first, LINE_COUNT + 1)], lines
    # Coming into sight did not make it grow and push the cells below it.
    assert_height_settled(notebook, widget)


# The last line comes right before the end: the growth it needs and the status race.
LIVE_LINES = """
import time
for i in range(1, 9):
    time.sleep(0.15)
    print(f"step {i}", flush=True)
"""


def test_a_finished_view_does_not_change_height_after_its_end(
    open_notebook: OpenNotebook, artifacts: Path
) -> None:
    notebook = open_notebook(
        start_run_cell(LIVE_LINES, "settles"),
        # The same run once it has ended: its whole replay and its status arrive at once.
        "nj.RunTerminal(run.id)",
    )
    record_heights(notebook)
    live = notebook.widgets(notebook.run_cell(0)).first
    live.wait_for()
    wait_status(live, "succeeded")
    assert_height_settled(notebook, live)
    assert terminal_lines(live)[-1] == "step 8"

    replayed = notebook.widgets(notebook.run_cell(1)).first
    replayed.wait_for()
    wait_status(replayed, "succeeded")
    assert_height_settled(notebook, replayed)
    notebook.screenshot(replayed, "settled-replay", artifacts)
    assert terminal_lines(replayed)[-1] == "step 8"
