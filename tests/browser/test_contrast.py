"""Every text of the widget is readable (WCAG AA, 4.5:1) in JupyterLab Light and Dark: the header
in every state a run goes through, the error and info lines, the truncation banner and its link,
and the terminal's own text."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from .contrast import AA_NORMAL_TEXT, text_contrasts
from .lab_server import LabServer
from .notebook_page import (
    NotebookPage,
    OpenNotebook,
    reset_theme,
    use_theme,
    wait_attr,
    wait_lines,
    wait_status,
)
from .polling import poll
from .programs import TICKING, is_stream_url

# More output than the view replays (a banner), ending with red stderr lines. The streams are
# two pipes read in their own time: stderr comes last, after a pause, to be in the tail.
TRUNCATED = """
import sys, time
for i in range(200):
    print(f"out {i:03d} " + "." * 40)
sys.stdout.flush()
time.sleep(0.5)
for i in range(5):
    print(f"err {i}", file=sys.stderr, flush=True)
"""

BADGE_STATUSES = ("queued", "running", "succeeded", "failed", "cancelled", "unknown")


def badge_sweep(notebook: NotebookPage) -> list[dict[str, Any]]:
    """The badge in every status, including those no view is in right now (`queued` passes in
    a blink): each is set on one view's badge, measured, and the real status put back."""
    badge = notebook.widgets().first.locator(".nebula-badge")
    real = badge.get_attribute("data-status")
    found = []
    try:
        for status in BADGE_STATUSES:
            badge.evaluate("(el, status) => { el.dataset.status = status; }", status)
            found += [{**item, "status": status} for item in text_contrasts(badge)]
    finally:
        badge.evaluate("(el, status) => { el.dataset.status = status; }", real)
    return found


def finished(lab: LabServer, run_id: str, status: str) -> None:
    poll(lambda: lab.run_record(run_id)["status"] == status, 30, f"run {run_id} {status}")


def test_every_text_meets_wcag_aa_in_light_and_dark(
    open_notebook: OpenNotebook, lab: LabServer, artifacts: Path
) -> None:
    python = sys.executable
    # A command that cannot start: the server's "Could not start: …" on the error line.
    nostart = lab.create_run(["/nonexistent/nebula-contrast-check"], name="nostart")["id"]
    big = lab.create_run([python, "-c", TRUNCATED], name="big")["id"]
    live = lab.create_run([python, "-c", TICKING], name="live")["id"]
    cancelled = lab.create_run([python, "-c", TICKING], name="cancelled")["id"]
    # A run whose stream never opens for this page: "reconnecting…" and the "…" badge.
    unreachable = lab.create_run([python, "-c", TICKING], name="unreachable")["id"]
    finished(lab, big, "succeeded")
    lab.json("POST", f"api/nebula/runs/{cancelled}/cancel")
    finished(lab, cancelled, "cancelled")
    views = [(nostart, 2_000_000), (big, 1500), (live, 2_000_000), (cancelled, 2_000_000)]
    notebook = open_notebook(
        "import nebula_jupyter as nj\n"
        f"for run_id, tail in {views!r}:\n"
        "    display(nj.RunTerminal(run_id, tail_bytes=tail))\n"
        f"display(nj.RunTerminal({unreachable!r}))\n"
        # No run: the info line.
        "display(nj.RunTerminal(''))\n"
    )
    notebook.page.route_web_socket(
        lambda url: is_stream_url(url) and unreachable in url,
        lambda ws: ws.close(code=1011, reason="test: unreachable"),
    )
    widgets = notebook.widgets(notebook.run_cell(0))
    widgets.nth(5).wait_for(timeout=60_000)
    nostart_view, big_view, live_view, cancelled_view, unreachable_view, empty_view = (
        widgets.nth(i) for i in range(6)
    )
    wait_status(nostart_view, "failed")
    nostart_view.locator(".nebula-message").wait_for()
    assert "Could not start" in nostart_view.locator(".nebula-message").inner_text()
    wait_status(big_view, "succeeded")
    big_view.locator(".nebula-truncated").wait_for()
    wait_lines(big_view, lambda lines: "err 4" in lines)
    wait_status(live_view, "running")
    wait_attr(live_view, "data-connection", lambda value: value == "open")
    wait_lines(live_view, lambda lines: any(line.startswith("tick") for line in lines))
    wait_status(cancelled_view, "cancelled")
    wait_attr(unreachable_view, "data-connection", lambda value: value == "reconnecting")
    empty_view.locator(".nebula-message").wait_for()

    failures: list[dict[str, Any]] = []
    try:
        for theme in ("JupyterLab Light", "JupyterLab Dark"):
            if theme != "JupyterLab Light":
                use_theme(notebook, theme)
            slug = theme.split()[-1].lower()
            for index in range(widgets.count()):
                notebook.screenshot(widgets.nth(index), f"contrast-{slug}-{index}", artifacts)
            measured = badge_sweep(notebook)
            for index in range(widgets.count()):
                texts = text_contrasts(widgets.nth(index))
                assert texts, f"view {index} has no text"
                measured += [{**item, "view": index} for item in texts]
            # The terminals' own text is among what is measured.
            assert any(item["terminal"] for item in text_contrasts(big_view))
            failures += [
                {"theme": slug, **item} for item in measured if item["ratio"] < AA_NORMAL_TEXT
            ]
    finally:
        reset_theme(lab)
        for run_id in (live, unreachable):
            lab.request("POST", f"api/nebula/runs/{run_id}/cancel")
    assert not failures, f"text below {AA_NORMAL_TEXT}:1:\n" + "\n".join(map(str, failures))
