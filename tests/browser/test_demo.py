"""examples/demo.ipynb runs top to bottom in JupyterLab and shows what it says it shows."""

from __future__ import annotations

from pathlib import Path

from .lab_server import ROOT
from .notebook_page import TERMINAL_STATUSES, OpenNotebook, badge_text, wait_lines, wait_status


def test_demo_notebook_runs_top_to_bottom(open_notebook: OpenNotebook, artifacts: Path) -> None:
    demo = ROOT / "examples" / "demo.ipynb"
    notebook = open_notebook(copy_of=demo)
    notebook.run_all()
    last = notebook.cells.last.locator(".jp-OutputArea-output")
    last.filter(has_text="error: missing semicolon").wait_for(timeout=60_000)

    widgets = notebook.widgets()
    assert widgets.count() == 6, widgets.count()
    names = [widgets.nth(i).locator(".nebula-title").inner_text() for i in range(6)]
    assert names == ["progress", "failing", "ticker", "progress", "progress", "failing"], names
    for index in range(6):
        wait_status(widgets.nth(index), *TERMINAL_STATUSES)
    badges = [badge_text(widgets.nth(i)) for i in range(6)]
    assert badges[0] == badges[3] == badges[4] == "succeeded · exit 0", badges
    assert badges[1] == badges[5] == "failed · exit 2", badges
    assert badges[2].startswith("cancelled"), badges
    progress = wait_lines(widgets.nth(0), lambda lines: "done: model saved" in lines)
    assert "training [####################] 100%" in progress, progress
    assert widgets.nth(4).locator(".nebula-cancel").is_hidden()  # show_cancel=False
    page_text = notebook.page.locator(".jp-NotebookPanel:visible").inner_text()
    assert "Traceback" not in page_text
    notebook.screenshot(widgets.nth(0), "demo-progress", artifacts)
    notebook.page.locator(".jp-NotebookPanel:visible .jp-WindowedPanel-outer").evaluate(
        "el => el.scrollTo(0, 0)"
    )
    notebook.screenshot(None, "demo", artifacts)
