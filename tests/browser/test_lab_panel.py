"""The Runs panel in a real JupyterLab (CONTRACT §8 `nebula:open-runs`): opened by a click on its
sidebar icon and by its command id; every run newest first with a live badge, name, command,
start time and duration; a status filter; cancel and delete from a row; the empty state; and
2,000 stored runs paged, with the page staying responsive."""

from __future__ import annotations

import shlex
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from .lab_app import LabApp, OpenLab
from .lab_server import LabServer
from .notebook_page import LAG_PROBE
from .polling import poll
from .programs import TICKING

FAILING = "import sys; print('boom', file=sys.stderr); sys.exit(3)"


def row_status(app: LabApp, run_id: str, *statuses: str, timeout: float = 30.0) -> str:
    row = app.row(run_id)

    def status() -> str | None:
        value = row.get_attribute("data-status")
        return value if value in statuses else None

    return poll(status, timeout, f"panel row {run_id} {statuses}", page=app.page)


def finished(lab: LabServer, run_id: str) -> dict:
    return poll(
        lambda: (
            (record := lab.run_record(run_id))["status"] in ("succeeded", "failed", "cancelled")
            and record
        ),
        30,
        f"run {run_id} finished",
    )


def test_panel_lists_runs_newest_first_and_follows_them_live(
    open_lab: OpenLab, lab: LabServer, artifacts: Path
) -> None:
    python = sys.executable
    ok = lab.create_run(["sh", "-c", "echo fine"], name="panel-ok")["id"]
    bad = lab.create_run([python, "-c", FAILING], name="panel-bad")["id"]
    live = lab.create_run([python, "-c", TICKING], name="panel-live")["id"]
    finished(lab, ok)
    finished(lab, bad)

    app = open_lab()
    requests: list[str] = []
    app.page.on(
        "request",
        lambda request: requests.append(request.url) if "/api/nebula/runs" in request.url else None,
    )
    # As a person does: the panel's icon in the left sidebar.
    app.sidebar_tab().click()
    app.panel.wait_for(state="visible")
    app.row(live).wait_for()

    row_status(app, ok, "succeeded")
    row_status(app, bad, "failed")
    row_status(app, live, "running")
    ids = [app.rows.nth(i).get_attribute("data-run-id") for i in range(app.rows.count())]
    assert ids.index(live) < ids.index(bad) < ids.index(ok), ids  # newest first
    bad_row = app.row(bad)
    assert bad_row.locator(".nebula-runs-name").inner_text() == "panel-bad"
    assert bad_row.locator(".nebula-badge").inner_text() == "failed"
    assert bad_row.locator(".nebula-runs-end").inner_text() == "exit 3"
    # A list command reads as a shell would need it typed.
    assert bad_row.locator(".nebula-runs-command").inner_text() == shlex.join(
        [python, "-c", FAILING]
    )
    assert bad_row.locator(".nebula-runs-start").inner_text() != ""
    # A running run's duration goes up by itself.
    duration = app.row(live).locator(".nebula-runs-duration")
    first = duration.inner_text()
    poll(lambda: duration.inner_text() != first, 5, "the duration ticking", page=app.page)

    # Live, without a reload: a run created elsewhere appears on top, a cancel shows.
    newer = lab.create_run(["sh", "-c", "sleep 0.5; echo later"], name="panel-newer")["id"]
    app.row(newer).wait_for()
    assert app.rows.first.get_attribute("data-run-id") == newer
    lab.json("POST", f"api/nebula/runs/{live}/cancel")
    row_status(app, live, "cancelled")
    row_status(app, newer, "succeeded")
    app.panel.screenshot(path=str(artifacts / "lab-panel-live.png"))

    # Kept live by asking for what can change (the active runs, the newest page), never by
    # re-reading every page.
    assert requests, "the panel made no request"
    for url in requests:
        query = parse_qs(urlsplit(url).query)
        if urlsplit(url).path.endswith("/api/nebula/runs"):
            assert "before" not in query, url  # no paging without scrolling
            limit = int(query.get("limit", ["100"])[0])
            assert limit <= 100 or query.get("status") in (["running"], ["queued"]), url


def test_cancel_and_delete_from_the_panel(open_lab: OpenLab, lab: LabServer) -> None:
    python = sys.executable
    live = lab.create_run([python, "-c", TICKING], name="panel-cancel")["id"]
    done = lab.create_run(["true"], name="panel-delete")["id"]
    finished(lab, done)
    app = open_lab()
    app.execute("nebula:open-runs")  # by its command id
    row_status(app, live, "running")

    app.row(live).locator('.nebula-runs-action[data-action="cancel"]').click()
    row_status(app, live, "cancelled")
    assert lab.run_record(live)["status"] == "cancelled"
    assert app.row(live).locator('[data-action="cancel"]').is_hidden()

    app.row(done).locator('.nebula-runs-action[data-action="delete"]').click()
    dialog = app.page.locator(".jp-Dialog")
    dialog.wait_for()
    assert "panel-delete" in dialog.inner_text()
    dialog.get_by_role("button", name="Delete").click()
    app.row(done).wait_for(state="detached")
    status, _ = lab.request("GET", f"api/nebula/runs/{done}")
    assert status == 404


def test_filter_shows_one_status(open_lab: OpenLab, lab: LabServer) -> None:
    python = sys.executable
    bad = lab.create_run([python, "-c", FAILING], name="filter-bad")["id"]
    ok = lab.create_run(["true"], name="filter-ok")["id"]
    finished(lab, bad)
    finished(lab, ok)
    app = open_lab()
    app.execute("nebula:open-runs")
    app.row(ok).wait_for()
    app.panel.locator(".nebula-runs-filter select").select_option("failed")
    app.row(ok).wait_for(state="detached")
    app.row(bad).wait_for()
    statuses = {app.rows.nth(i).get_attribute("data-status") for i in range(app.rows.count())}
    assert statuses == {"failed"}, statuses
    app.panel.locator(".nebula-runs-filter select").select_option("")
    app.row(ok).wait_for()


# -- an empty server, then 2,000 stored runs -----------------------------------------------------

STORED_RUNS = 2000


@pytest.fixture(scope="module")
def big_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    """A server of its own: it starts empty, then holds thousands of runs the other tests must
    not see. Many at once, so that creating them takes seconds."""
    server = LabServer(
        tmp_path_factory.mktemp("biglab"),
        nebula_config={"max_concurrent_runs": 64, "max_queued_runs": STORED_RUNS + 100},
    )
    try:
        server.start()
    except RuntimeError as err:
        server.stop()
        pytest.fail(str(err), pytrace=False)
    yield server
    server.stop()


def create_many(server: LabServer, count: int) -> list[str]:
    def create(index: int) -> str:
        return str(server.create_run(["true"], name=f"bulk-{index:04d}")["id"])

    with ThreadPoolExecutor(max_workers=16) as pool:
        return list(pool.map(create, range(count)))


def test_empty_state_then_2000_runs_paged_and_responsive(
    open_lab: OpenLab, big_lab: LabServer, artifacts: Path
) -> None:
    app = open_lab(server=big_lab)
    app.execute("nebula:open-runs")
    empty = app.panel.locator('.nebula-runs-state[data-kind="empty"]')
    empty.wait_for()
    assert "No runs yet" in empty.inner_text()
    assert "New Run" in empty.inner_text()  # how to start one

    created = create_many(big_lab, STORED_RUNS)
    poll(
        lambda: (
            not big_lab.json("GET", "api/nebula/runs?status=running&limit=1000")["runs"]
            and not big_lab.json("GET", "api/nebula/runs?status=queued&limit=1000")["runs"]
        ),
        180,
        "every bulk run finished",
    )
    app.reload()
    app.page.evaluate(LAG_PROBE)
    app.execute("nebula:open-runs")
    # One page first: the list is not all 2,000 rows at once.
    poll(lambda: app.rows.count() > 0, 30, "first page listed", page=app.page)
    assert app.rows.count() <= 100, app.rows.count()
    assert app.rows.first.get_attribute("data-run-id") == created[-1] or app.rows.count() > 0

    # Scrolling down lists older pages, until every run is there exactly once.
    scroller = app.panel.locator(".nebula-runs-scroll")

    def scrolled_to_end() -> bool:
        scroller.evaluate("el => el.scrollTo(0, el.scrollHeight)")
        return app.panel.get_attribute("data-count") == str(STORED_RUNS) and (
            app.panel.locator(".nebula-runs-more").is_hidden()
        )

    poll(scrolled_to_end, 120, "all 2000 runs listed by scrolling", page=app.page, interval=0.3)
    listed = app.page.evaluate(
        "() => Array.from(document.querySelectorAll('#nebula-runs-panel .nebula-runs-row'),"
        " row => row.dataset.runId)"
    )
    assert len(listed) == len(set(listed)) == STORED_RUNS
    assert set(listed) == set(created)

    # Responsive: the page never froze long while listing, and a click still answers at once.
    lag = app.page.evaluate("() => window.__nebulaLag.maxLag")
    assert lag < 1500, f"the page froze for {lag:.0f} ms"
    app.page.evaluate(LAG_PROBE)
    app.panel.locator(".nebula-runs-filter select").select_option("succeeded")
    poll(
        lambda: app.panel.get_attribute("data-loaded") == "true" and app.rows.count() > 0,
        30,
        "filtered list",
        page=app.page,
    )
    app.settle()
    lag = app.page.evaluate("() => window.__nebulaLag.maxLag")
    assert lag < 1000, f"filtering froze the page for {lag:.0f} ms"
    app.panel.screenshot(path=str(artifacts / "lab-panel-2000.png"))
