"""Terminal mode (CONTRACT §1.1, §3): a run created with `"tty": true` takes keystrokes from the
view that shows it, in the notebook widget and in a JupyterLab run tab. Ctrl-C is a keystroke for
the program (SIGINT through its terminal), never a cancel; a run without tty takes no input."""

from __future__ import annotations

from pathlib import Path

from .lab_app import OpenLab, wait_view_status
from .lab_server import LabServer
from .notebook_page import OpenNotebook, wait_lines, wait_status
from .polling import poll

READ_LINE = "read x; echo got $x"
# SIGINT from the terminal reaches the shell, which says so and carries on.
TRAP_INT = "trap 'echo caught-int' INT; echo ready; while :; do sleep 0.1; done"


def widget_cell(run_id: str) -> str:
    return f"import nebula_jupyter as nj\nnj.RunTerminal({run_id!r})"


def test_typing_into_a_tty_run_in_the_notebook_widget(
    open_notebook: OpenNotebook, lab: LabServer, artifacts: Path
) -> None:
    run_id = lab.create_run(["sh", "-c", READ_LINE], name="tty-read", tty=True)["id"]
    assert lab.run_record(run_id)["tty"] is True
    notebook = open_notebook(widget_cell(run_id))
    widget = notebook.widgets(notebook.run_cell(0)).first
    widget.wait_for()
    wait_status(widget, "running")
    widget.locator(".nebula-term .xterm").click()
    notebook.page.keyboard.type("hello")
    notebook.page.keyboard.press("Enter")
    wait_status(widget, "succeeded")
    lines = wait_lines(widget, lambda lines: "got hello" in lines, what="the echo")
    assert "hello" in lines  # the terminal's own echo of what was typed
    notebook.screenshot(widget, "tty-widget", artifacts)


def test_ctrl_c_goes_to_the_program_and_cancel_still_cancels(
    open_notebook: OpenNotebook, lab: LabServer
) -> None:
    run_id = lab.create_run(["sh", "-c", TRAP_INT], name="tty-int", tty=True)["id"]
    notebook = open_notebook(widget_cell(run_id))
    widget = notebook.widgets(notebook.run_cell(0)).first
    wait_lines(widget, lambda lines: "ready" in lines)
    widget.locator(".nebula-term .xterm").click()
    notebook.page.keyboard.press("Control+c")
    # The terminal echoes ^C, then the program's trap speaks.
    wait_lines(
        widget,
        lambda lines: any(line.endswith("caught-int") for line in lines),
        what="the program's own SIGINT",
    )
    record = lab.run_record(run_id)
    assert record["status"] == "running" and not record["cancel_requested"], record
    widget.locator(".nebula-cancel").click()
    wait_status(widget, "cancelled")


def test_a_run_without_tty_takes_no_keystrokes(open_notebook: OpenNotebook, lab: LabServer) -> None:
    run_id = lab.create_run(["sh", "-c", "echo plain; sleep 3"], name="no-tty")["id"]
    notebook = open_notebook(widget_cell(run_id))
    page = notebook.page
    sent: list[str] = []
    page.on(
        "websocket",
        lambda ws: (
            ws.on("framesent", lambda frame: sent.append(str(frame)))
            if "/stream" in ws.url
            else None
        ),
    )
    widget = notebook.widgets(notebook.run_cell(0)).first
    wait_lines(widget, lambda lines: "plain" in lines)
    widget.locator(".nebula-term .xterm").click()
    page.keyboard.type("ignored")
    wait_status(widget, "succeeded")
    assert not any('"stdin"' in frame or '"resize"' in frame for frame in sent), sent


def test_typing_into_a_tty_run_in_a_lab_tab(open_lab: OpenLab, lab: LabServer) -> None:
    app = open_lab()
    before = set(app.open_run_ids())
    app.execute("nebula:new-run", {"command": READ_LINE, "name": "tty-tab", "tty": True})
    run_id = app.latest_run_tab(before)
    view = app.view(run_id)
    wait_view_status(view, "running")
    # The tab gives the terminal the keyboard itself once it knows the run takes input.
    poll(
        lambda: view.evaluate("root => root.contains(document.activeElement)"),
        10,
        "the terminal focused",
        page=app.page,
    )
    app.page.keyboard.type("from the tab")
    app.page.keyboard.press("Enter")
    wait_view_status(view, "succeeded")
    wait_lines(view, lambda lines: "got from the tab" in lines)
