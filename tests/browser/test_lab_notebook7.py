"""`nebula:open-run` in Notebook 7, whose main area holds one document per browser tab: on the
tree page the run opens as one more tab of its main area (next to Files and Running); from a
notebook's page it opens the tree page in a new browser tab, showing the run (js/src/lab/
notebook7.ts). The same extension, loaded by Notebook 7 from the same package."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page

from .lab_app import wait_view_status
from .lab_server import LabServer
from .notebook_page import wait_lines


@pytest.fixture
def nb7_page(
    chromium: Any, lab: LabServer, artifacts: Path, request: pytest.FixtureRequest
) -> Iterator[Page]:
    status, _ = lab.request("GET", "tree")
    if status != 200:
        pytest.fail(f"Notebook 7's pages are not served (GET <base>tree: {status})", pytrace=False)
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(30_000)
    page = context.new_page()
    yield page
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        for index, opened in enumerate(context.pages):
            with contextlib.suppress(Exception):
                opened.screenshot(
                    path=str(artifacts / f"FAILED-nb7-{request.node.name}-{index}.png")
                )
    context.close()
    lab.shutdown_kernels()


def wait_app(page: Page) -> None:
    page.wait_for_function("() => window.jupyterapp !== undefined")
    page.evaluate("() => window.jupyterapp.restored")
    page.wait_for_function("() => window.jupyterapp.commands.hasCommand('nebula:open-run')")


def test_open_run_on_the_notebook7_tree_page_uses_its_main_area(
    nb7_page: Page, lab: LabServer, artifacts: Path
) -> None:
    run_id = lab.create_run(["sh", "-c", "echo from-nb7; echo err >&2"], name="nb7-run")["id"]
    page = nb7_page
    page.goto(lab.url(f"tree?token={lab.token}"))
    wait_app(page)
    assert page.locator(".jp-LabShell").count() == 0  # Notebook 7's own shell
    page.evaluate(
        "id => window.jupyterapp.commands.execute('nebula:open-run', {id}).then(() => null)",
        run_id,
    )
    view = page.locator(f'#main-panel .nebula-run[data-run-id="{run_id}"]')
    view.wait_for()
    wait_view_status(view, "succeeded")
    assert sorted(wait_lines(view, lambda lines: len(lines) >= 2)) == ["err", "from-nb7"]
    # A tab of the tree page, selected, beside Files.
    tabs = page.locator("#main-panel .lm-TabBar-tab")
    titles = [tabs.nth(i).inner_text().strip() for i in range(tabs.count())]
    assert titles[:2] == ["Files", "Running"] and titles[-1] == "nb7-run", titles
    current = page.locator("#main-panel .lm-TabBar-tab.lm-mod-current")
    assert current.inner_text().strip() == "nb7-run"
    page.screenshot(path=str(artifacts / "notebook7-run.png"))


def test_open_run_from_a_notebook7_notebook_opens_the_tree_page_with_it(
    nb7_page: Page, lab: LabServer
) -> None:
    run_id = lab.create_run(["sh", "-c", "echo popped"], name="nb7-popup")["id"]
    lab.write_notebook("nb7_open_run.ipynb", "1 + 1")
    page = nb7_page
    page.goto(lab.notebook7_url("nb7_open_run.ipynb"))
    wait_app(page)
    with page.context.expect_page() as opened:
        page.evaluate(
            "id => window.jupyterapp.commands.execute('nebula:open-run', {id}).then(() => null)",
            run_id,
        )
    tree = opened.value
    tree.wait_for_load_state()
    assert f"nebula-run={run_id}" in tree.url
    view = tree.locator(f'#main-panel .nebula-run[data-run-id="{run_id}"]')
    view.wait_for()
    wait_view_status(view, "succeeded")
    wait_lines(view, lambda lines: "popped" in lines)
    # The notebook page itself is unchanged: still its notebook alone in its main area.
    assert page.locator("#main-panel .nebula-run").count() == 0
    # Its Runs panel is in the page's left sidebar, as in JupyterLab.
    page.evaluate("() => window.jupyterapp.commands.execute('nebula:open-runs').then(() => null)")
    page.locator("#nebula-runs-panel").wait_for(state="visible")
    page.locator(f'#nebula-runs-panel .nebula-runs-row[data-run-id="{run_id}"]').wait_for()
