"""Runs started and followed in a real JupyterLab (CONTRACT §8): `nebula:new-run` from the
command palette (its dialog) and with arguments, `nebula:run-file` from the file browser's
context menu, `nebula:open-run` tabs (focus, reload, cancel, theme), the notifications when a run
ends, and the status bar's count of active runs. Each through the UI a person uses, and by
command id as another extension would."""

from __future__ import annotations

import re
import sys
from pathlib import Path

from .contrast import AA_NORMAL_TEXT, text_contrasts
from .lab_app import LabApp, OpenLab, wait_view_status
from .lab_server import LabServer
from .notebook_page import reset_theme, terminal_lines, use_theme, wait_lines
from .polling import poll
from .programs import EXPECTED_NUMBERED, NUMBERED, NUMBERED_LINES, TICKING


def new_tab(app: LabApp, before: set[str]) -> str:
    return app.latest_run_tab(before)


def active_on_server(lab: LabServer) -> int:
    return sum(
        len(lab.json("GET", f"api/nebula/runs?status={status}&limit=1000")["runs"])
        for status in ("running", "queued")
    )


def test_new_run_dialog_from_the_palette_starts_in_the_file_browsers_folder(
    open_lab: OpenLab, lab: LabServer, artifacts: Path
) -> None:
    folder = lab.root_dir / "dialog-project"
    folder.mkdir(exist_ok=True)
    (folder / "data.txt").write_text("x\n")
    app = open_lab()
    page = app.page
    # The file browser, into the folder, by a double-click.
    app.show_file_browser()
    app.file_item("dialog-project").dblclick()
    app.file_item("data.txt").wait_for()

    app.palette("New Run…")
    dialog = page.locator(".jp-Dialog")
    dialog.wait_for()
    assert dialog.locator("input[name='cwd']").input_value() == "dialog-project"
    dialog.locator("input[name='command']").fill('echo "working in $(basename "$PWD")"; sleep 1')
    dialog.locator("input[name='name']").fill("dialog-run")
    before = set(app.open_run_ids())
    dialog.get_by_role("button", name="Start").click()

    # The tab opens at once, while the run is still going.
    run_id = new_tab(app, before)
    view = app.view(run_id)
    view.wait_for()
    assert lab.run_record(run_id)["status"] in ("queued", "running")
    wait_lines(view, lambda lines: "working in dialog-project" in lines)
    wait_view_status(view, "succeeded")
    record = lab.run_record(run_id)
    assert record["cwd"] == "dialog-project" and record["name"] == "dialog-run", record
    assert record["tty"] is False
    assert app.tab_title(run_id).inner_text().strip() == "dialog-run"
    assert app.current_tab_id() == f"nebula-run-{run_id}"
    app.toast("Run “dialog-run” succeeded").wait_for()
    page.screenshot(path=str(artifacts / "lab-dialog-run.png"))


def test_new_run_with_arguments_starts_at_once_and_the_tab_streams(
    open_lab: OpenLab, lab: LabServer
) -> None:
    app = open_lab()
    before = set(app.open_run_ids())
    app.execute(
        "nebula:new-run",
        {"command": [sys.executable, "-c", NUMBERED], "name": "args-run", "cwd": ""},
    )
    run_id = new_tab(app, before)
    assert app.page.locator(".jp-Dialog").count() == 0  # no dialog with a command given
    view = app.view(run_id)
    wait_view_status(view, "running")
    lines = wait_lines(view, lambda lines: len(lines) >= NUMBERED_LINES, what="all lines")
    assert lines == EXPECTED_NUMBERED
    wait_view_status(view, "succeeded")


def test_run_file_from_the_context_menu_and_by_id(open_lab: OpenLab, lab: LabServer) -> None:
    folder = lab.root_dir / "scripts"
    folder.mkdir(exist_ok=True)
    (folder / "hello.py").write_text(
        "import os, sys\nprint('hello from', os.path.basename(os.getcwd()), 'argv', sys.argv)\n"
    )
    (folder / "greet.sh").write_text('echo "greet from $(basename "$PWD") $0"\n')
    app = open_lab()
    page = app.page
    app.show_file_browser()
    app.file_item("scripts").dblclick()
    app.file_item("hello.py").click(button="right")
    menu_item = page.locator(".lm-Menu-item:visible", has_text="Run as Background Run")
    before = set(app.open_run_ids())
    menu_item.click()
    run_id = new_tab(app, before)
    view = app.view(run_id)
    wait_lines(view, lambda lines: "hello from scripts argv ['hello.py']" in lines)
    wait_view_status(view, "succeeded")
    record = lab.run_record(run_id)
    assert record["command"] == ["python", "hello.py"] and record["cwd"] == "scripts", record
    assert record["name"] == "hello.py"

    # Not offered for files it cannot run.
    (folder / "notes.txt").write_text("n\n")
    page.keyboard.press("Escape")
    app.file_item("notes.txt").click(button="right")
    page.locator(".lm-Menu").first.wait_for()
    page.locator(".lm-Menu-item:visible", has_text="Open").first.wait_for()
    assert page.locator(".lm-Menu-item:visible", has_text="Run as Background Run").count() == 0
    page.keyboard.press("Escape")

    before = set(app.open_run_ids())
    app.execute("nebula:run-file", {"path": "scripts/greet.sh"})
    run_id = new_tab(app, before)
    wait_lines(app.view(run_id), lambda lines: "greet from scripts greet.sh" in lines)
    assert lab.run_record(run_id)["command"] == ["sh", "greet.sh"]


def test_notifications_name_the_run_and_how_it_ended(open_lab: OpenLab, lab: LabServer) -> None:
    # Ended before this session: never announced.
    unwatched = lab.create_run(["sh", "-c", "exit 4"], name="not-mine")["id"]
    poll(lambda: lab.run_record(unwatched)["status"] == "failed", 20, "not-mine failed")
    app = open_lab()
    app.execute("nebula:open-runs")
    before = set(app.open_run_ids())
    app.execute("nebula:new-run", {"command": "sleep 0.5; exit 0", "name": "ok-run"})
    ok_id = new_tab(app, before)
    before.add(ok_id)
    app.execute(
        "nebula:new-run", {"command": "sleep 0.5; echo boom >&2; exit 3", "name": "bad-run"}
    )
    bad_id = new_tab(app, before)
    # Opened here while it runs, started elsewhere: announced too.
    opened = lab.create_run(["sh", "-c", "sleep 1.5; kill -KILL $$"], name="opened-run")["id"]
    app.execute("nebula:open-run", {"id": opened})

    success = app.toast("Run “ok-run” succeeded")
    failure = app.toast("Run “bad-run” failed (exit 3)")
    killed = app.toast("Run “opened-run” failed (SIGKILL)")
    for toast in (success, failure, killed):
        toast.wait_for()
    assert app.toast("not-mine").count() == 0
    # "Open" brings that run's tab to the front.
    app.execute("nebula:open-run", {"id": ok_id})
    assert app.current_tab_id() == f"nebula-run-{ok_id}"
    failure.get_by_role("button", name="Open").click()
    poll(
        lambda: app.current_tab_id() == f"nebula-run-{bad_id}",
        10,
        "the failed run's tab in front",
        page=app.page,
    )


def test_open_run_twice_focuses_the_same_tab_and_cancel_in_the_tab(
    open_lab: OpenLab, lab: LabServer
) -> None:
    python = sys.executable
    live = lab.create_run([python, "-c", TICKING], name="twice")["id"]
    other = lab.create_run(["true"], name="other")["id"]
    app = open_lab()
    app.execute("nebula:open-run", {"id": live})
    app.execute("nebula:open-run", {"id": other})
    assert app.current_tab_id() == f"nebula-run-{other}"
    # From the panel, as a person: a click on the row.
    app.execute("nebula:open-runs")
    app.row(live).locator(".nebula-runs-name").click()
    poll(lambda: app.current_tab_id() == f"nebula-run-{live}", 10, "tab focused", page=app.page)
    assert app.open_run_ids().count(live) == 1

    view = app.view(live)
    wait_lines(view, lambda lines: any(line.startswith("tick") for line in lines))
    view.locator(".nebula-cancel").click()
    wait_view_status(view, "cancelled")
    assert lab.run_record(live)["status"] == "cancelled"
    app.row(live).wait_for()
    poll(lambda: app.row(live).get_attribute("data-status") == "cancelled", 10, "row cancelled")


def test_a_tab_survives_a_reload_with_no_gap_or_duplicate(
    open_lab: OpenLab, lab: LabServer, artifacts: Path
) -> None:
    app = open_lab()
    before = set(app.open_run_ids())
    app.execute("nebula:new-run", {"command": [sys.executable, "-c", NUMBERED], "name": "reload"})
    run_id = new_tab(app, before)
    first = wait_lines(app.view(run_id), lambda lines: len(lines) >= 4, what="four lines")
    assert lab.run_record(run_id)["status"] == "running", "ended before the reload"

    app.reload()
    view = app.view(run_id)
    view.wait_for()  # restored by the layout restorer, in this workspace
    wait_view_status(view, "succeeded")
    lines = wait_lines(view, lambda lines: len(lines) >= NUMBERED_LINES, what="all lines")
    assert lines == EXPECTED_NUMBERED, {"before": first, "after": lines}
    assert app.open_run_ids() == [run_id]
    app.page.screenshot(path=str(artifacts / "lab-tab-reloaded.png"))


def test_status_bar_counts_active_runs_and_opens_the_panel(
    open_lab: OpenLab, lab: LabServer
) -> None:
    app = open_lab()
    item = app.status_item
    item.wait_for()

    def shows(count: int) -> bool:
        return item.get_attribute("data-active-count") == str(count) and (
            f"{count} run" in item.inner_text()
        )

    baseline = active_on_server(lab)
    poll(lambda: shows(baseline), 15, f"{baseline} active", page=app.page)
    python = sys.executable
    runs = [lab.create_run([python, "-c", TICKING], name=f"count-{i}")["id"] for i in range(2)]
    try:
        poll(lambda: shows(baseline + 2), 15, "two more active", page=app.page)
        lab.json("POST", f"api/nebula/runs/{runs[0]}/cancel")
        poll(lambda: shows(baseline + 1), 15, "one less active", page=app.page)
    finally:
        for run_id in runs:
            lab.request("POST", f"api/nebula/runs/{run_id}/cancel")
    item.click()
    app.panel.wait_for(state="visible")


def terminal_colours(app: LabApp, run_id: str) -> dict[str, str]:
    """The colours the terminal paints with: its text, and its (the tab's) background."""
    return dict(
        app.view(run_id).evaluate(
            """root => ({
              text: getComputedStyle(root.querySelector('.xterm-rows')).color,
              background: getComputedStyle(root.querySelector('.nebula-term')).backgroundColor,
            })"""
        )
    )


def luminance(css: str) -> float:
    r, g, b = (int(float(v)) for v in re.findall(r"[\d.]+", css)[:3])
    return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255


def test_the_tab_follows_the_lab_theme_live(
    open_lab: OpenLab, lab: LabServer, artifacts: Path
) -> None:
    run_id = lab.create_run(["sh", "-c", "echo plain; echo red >&2"], name="themed")["id"]
    app = open_lab()
    app.execute("nebula:open-run", {"id": run_id})
    view = app.view(run_id)
    wait_view_status(view, "succeeded")
    wait_lines(view, lambda lines: "red" in lines)
    light = terminal_colours(app, run_id)
    assert luminance(light["text"]) < 0.4 < luminance(light["background"]), light
    try:
        use_theme(app.page, "JupyterLab Dark")
        dark = poll(
            lambda: (
                (colours := terminal_colours(app, run_id))
                and luminance(colours["background"]) < 0.3
                and luminance(colours["text"]) > 0.6
                and colours
            ),
            10,
            "dark terminal colours",
            page=app.page,
        )
        view.screenshot(path=str(artifacts / "lab-tab-dark.png"))
        low = [item for item in text_contrasts(view) if item["ratio"] < AA_NORMAL_TEXT]
        assert not low, low
        use_theme(app.page, "JupyterLab Light")
        poll(
            lambda: luminance(terminal_colours(app, run_id)["background"]) > 0.8,
            10,
            "light again",
            page=app.page,
        )
    finally:
        reset_theme(lab)
    assert dark["text"] != light["text"]


def test_commands_exist_and_the_terminal_lines_are_the_widgets(
    open_lab: OpenLab, lab: LabServer
) -> None:
    app = open_lab()
    for command in ("nebula:open-runs", "nebula:open-run", "nebula:new-run", "nebula:run-file"):
        assert app.has_command(command), command
    run_id = lab.create_run(["sh", "-c", "echo out; echo err >&2"], name="same-view")["id"]
    app.execute("nebula:open-run", {"id": run_id})
    view = app.view(run_id)
    # The tab is the notebook widget's own view: same hooks, same badge text.
    wait_view_status(view, "succeeded")
    assert view.get_attribute("data-run-id") == run_id
    assert view.locator(".nebula-badge").inner_text() == "succeeded · exit 0"
    assert sorted(terminal_lines(view)) == ["err", "out"]
    place = app.tab(run_id).locator(".nebula-tab-place").inner_text()
    assert place.startswith("local · "), place
