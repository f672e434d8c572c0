"""The run widget in a real JupyterLab: what a user sees, read from the page's DOM.

Each test opens its own notebook (and kernel), runs cells with the keyboard like a user, and
checks the widget through its stable hooks (js/README.md): `.nebula-run[data-status]`, the
badge, the cancel button and the xterm rows. Screenshots go to test-artifacts/browser/.
"""

from __future__ import annotations

import socket
import sys
import time
from pathlib import Path

from .lab_server import LabServer
from .notebook_page import (
    OpenNotebook,
    badge_text,
    is_red,
    span_styles,
    terminal_lines,
    wait_lines,
    wait_status,
)
from .programs import FAILING, MIXED, TICKING, start_run_cell


def test_mixed_output_shows_both_streams_stderr_red_and_badge_running_then_succeeded(
    open_notebook: OpenNotebook, lab: LabServer, artifacts: Path
) -> None:
    notebook = open_notebook(start_run_cell(MIXED, "mixed"))
    cell = notebook.run_cell(0)
    widget = notebook.widgets(cell).first
    widget.wait_for()
    run_id = str(widget.get_attribute("data-run-id"))

    wait_status(widget, "running")
    wait_lines(widget, lambda lines: "err 1" in lines, what="first stderr line")
    notebook.screenshot(widget, "mixed-running", artifacts)
    wait_status(widget, "succeeded")
    notebook.screenshot(widget, "mixed-succeeded", artifacts)

    lines = terminal_lines(widget)
    expected = ["out 1", "err 1", "out 2", "err 2", "out 3", "err 3"]
    for line in expected:
        assert lines.count(line) == 1, (line, lines)
    # The "\r" progress bar redraws one line in place: only its final state is left.
    assert lines.count("progress 100%") == 1, lines
    assert not any("progress" in line and line != "progress 100%" for line in lines), lines
    assert len(lines) == len(expected) + 1, lines
    assert badge_text(widget) == "succeeded · exit 0"
    # Where it ran, for local and remote runs alike (CONTRACT §7: the host).
    place = widget.locator(".nebula-badge").get_attribute("title")
    assert place == f"local · {socket.gethostname()}", place
    # The terminal is as tall as these lines (and the cursor's row), not height_px's 320 px.
    rows = widget.locator(".xterm-rows > div").count()
    height = widget.locator(".nebula-term").evaluate("el => el.getBoundingClientRect().height")
    assert rows == len(lines) + 1 and height < 200, (rows, height)

    history = notebook.history(run_id)
    assert "running" in history and history[-1] == "succeeded", history
    assert history.index("running") < history.index("succeeded"), history
    assert not {"failed", "cancelled"} & set(history), history

    for text in ("err 1", "err 2", "err 3"):
        styles = span_styles(widget, text)
        assert styles, f"no span holds {text!r}"
        for style in styles:
            assert "xterm-fg-1" in style["cls"].split(), style
            assert is_red(style["color"]), f"stderr is not red: {style}"
    for text in ("out 1", "out 2", "out 3", "progress 100%"):
        styles = span_styles(widget, text)
        assert styles, f"no span holds {text!r}"
        for style in styles:
            assert "xterm-fg-1" not in style["cls"].split(), style
            assert not is_red(style["color"]), f"stdout is red: {style}"

    # What the widget shows is what the server stored.
    logs = lab.run_logs(run_id).decode()
    for line in expected:
        assert f"{line}\n" in logs


def test_failing_run_shows_failed_and_its_exit_code(
    open_notebook: OpenNotebook, artifacts: Path
) -> None:
    notebook = open_notebook(start_run_cell(FAILING, "fails"))
    widget = notebook.widgets(notebook.run_cell(0)).first
    widget.wait_for()

    wait_status(widget, "failed")
    lines = wait_lines(
        widget, lambda lines: "boom: something broke" in lines, what="the error message"
    )
    notebook.screenshot(widget, "failed", artifacts)

    assert lines == ["working...", "boom: something broke"], lines
    assert badge_text(widget) == "failed · exit 3"
    assert widget.locator(".nebula-badge").get_attribute("data-status") == "failed"
    cancel = widget.locator(".nebula-cancel")
    assert cancel.is_disabled()
    assert cancel.get_attribute("data-phase") == "done"


def test_cancel_button_cancels_a_long_run(
    open_notebook: OpenNotebook, lab: LabServer, artifacts: Path
) -> None:
    notebook = open_notebook(start_run_cell(TICKING, "long"))
    widget = notebook.widgets(notebook.run_cell(0)).first
    widget.wait_for()
    run_id = str(widget.get_attribute("data-run-id"))
    wait_status(widget, "running")
    wait_lines(widget, lambda lines: "tick 3" in lines, what="a few ticks")

    cancel = widget.locator(".nebula-cancel")
    assert cancel.is_enabled()
    assert cancel.get_attribute("data-phase") == "idle"
    notebook.screenshot(widget, "cancel-before", artifacts)
    clicked_at = time.monotonic()
    cancel.click()

    wait_status(widget, "cancelled", timeout=10)
    cancelled_after = time.monotonic() - clicked_at
    notebook.screenshot(widget, "cancelled", artifacts)

    assert cancel.is_disabled()
    assert cancel.get_attribute("data-phase") == "done"
    assert badge_text(widget).startswith("cancelled"), badge_text(widget)
    # The button showed its loading state between the click and the end.
    phases = notebook.history(run_id, "phase")
    assert phases[-1] == "done", phases
    assert {"pending", "requested"} & set(phases[:-1]), phases
    assert cancelled_after < 5, f"cancel took {cancelled_after:.1f} s"

    record = lab.run_record(run_id)
    assert record["status"] == "cancelled" and record["cancel_requested"] is True, record
    # Nothing is printed after the end: the last tick shown stays the last one.
    shown = terminal_lines(widget)
    notebook.page.wait_for_timeout(500)
    assert terminal_lines(widget) == shown


def test_two_views_of_one_run_show_the_same_text(
    open_notebook: OpenNotebook, lab: LabServer, artifacts: Path
) -> None:
    code = (
        "import sys, time\n"
        "for i in range(1, 9):\n"
        "    print(f'view line {i}', file=sys.stderr if i % 3 == 0 else sys.stdout)\n"
        "    time.sleep(0.25)\n"
    )
    # Created over REST, shown by id: RunTerminal twice (two models), the same model twice
    # (two views of one model) and the Run handle from nj.Run.get. Short terminals, so that
    # all four fit on the screen (xterm does not render off-screen).
    run_id = lab.create_run([sys.executable, "-c", code], name="views")["id"]
    notebook = open_notebook(
        "from nebula_jupyter.widget import RunTerminal\n"
        "import nebula_jupyter as nj\n"
        f"first = RunTerminal({run_id!r}, height_px=150)\n"
        "display(first)\n"
        f"display(RunTerminal({run_id!r}, height_px=150))\n"
        "display(first)\n"
        f"nj.Run.get({run_id!r})\n"
    )
    cell = notebook.run_cell(0)
    widgets = notebook.widgets(cell)
    widgets.nth(3).wait_for()
    assert widgets.count() == 4
    for index in range(4):
        assert widgets.nth(index).get_attribute("data-run-id") == run_id
        wait_status(widgets.nth(index), "succeeded")
    expected = [f"view line {i}" for i in range(1, 9)]
    texts = [
        wait_lines(widgets.nth(i), lambda lines: len(lines) >= len(expected), timeout=10)
        for i in range(4)
    ]
    notebook.screenshot(cell.locator(".jp-Cell-outputWrapper"), "two-views", artifacts)

    assert texts[0] == expected, texts[0]
    for index, text in enumerate(texts[1:], start=1):
        assert text == texts[0], (index, text)
    bytes_written = {widgets.nth(i).get_attribute("data-bytes-written") for i in range(4)}
    assert bytes_written == {str(sum(len(line) + 1 for line in expected))}, bytes_written


def test_saved_notebook_holds_widget_state_but_no_token(
    open_notebook: OpenNotebook, lab: LabServer, artifacts: Path
) -> None:
    notebook = open_notebook(
        start_run_cell("print('saved output')", "saved"),
        # Asked after the save, inside the kernel: the kernel secret is not in the file either.
        # (the kernel's working directory is root_dir, where every test notebook is).
        "import os, pathlib\n"
        "secret = os.environ.get('NEBULA_KERNEL_SECRET', '')\n"
        "saved = [p.read_text() for p in pathlib.Path().glob('*.ipynb')]\n"
        "print('kernel secret set:', bool(secret), '| notebooks:', len(saved) > 0,\n"
        "      '| in a notebook:', any(secret in text for text in saved))",
    )
    widget = notebook.widgets(notebook.run_cell(0)).first
    widget.wait_for()
    run_id = str(widget.get_attribute("data-run-id"))
    wait_status(widget, "succeeded")
    # The page does hold the token (JupyterLab's page config), and the widget uses it.
    assert lab.token in str(notebook.page.locator("#jupyter-config-data").text_content())

    saved = notebook.save()
    text = notebook.path.read_text()
    assert lab.token not in text
    state = saved["metadata"]["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    terminals = [
        model["state"] for model in state.values() if model["state"].get("run_id") == run_id
    ]
    assert terminals, f"no RunTerminal state saved: {list(state)}"
    assert not any("token" in key or "secret" in key for key in terminals[0]), terminals[0]

    output = notebook.run_cell(1).locator(".jp-OutputArea-output")
    output.filter(has_text="kernel secret set").wait_for()
    assert output.inner_text().strip() == (
        "kernel secret set: True | notebooks: True | in a notebook: False"
    )
