"""The widget in Notebook 7's UI, not JupyterLab's: the same server (the `notebook` package adds
its pages to it), the same non-root base URL, the same checks through the DOM."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest

from .lab_server import LabServer
from .notebook_page import OpenNotebook, badge_text, is_red, span_styles, wait_lines, wait_status
from .programs import is_stream_url

CELL = 'import nebula_jupyter as nj; r = nj.run("echo out; echo err >&2; exit 0", name="nb7"); r'


def test_notebook7_shows_stdout_stderr_and_the_badge_reaches_succeeded(
    open_notebook: OpenNotebook, lab: LabServer, artifacts: Path
) -> None:
    status, _ = lab.request("GET", "tree")
    if status != 200:
        pytest.fail(
            f"Notebook 7's pages are not served (GET <base>tree answered {status}): "
            "pip install 'notebook>=7,<8' (the test extra has it).",
            pytrace=False,
        )
    notebook = open_notebook(CELL, ui="notebook7")
    page = notebook.page
    sockets: list[str] = []
    page.on("websocket", lambda ws: sockets.append(ws.url))

    # Notebook 7's own page, under the base URL: not JupyterLab in disguise.
    assert urlsplit(page.url).path == f"{lab.base_url}notebooks/{quote(notebook.name)}"
    config = json.loads(str(page.locator("#jupyter-config-data").text_content()))
    assert config["appName"] == "Jupyter Notebook", config.get("appName")
    assert config["baseUrl"] == lab.base_url, config["baseUrl"]
    assert page.locator(".jp-LabShell").count() == 0

    cell = notebook.run_cell(0)
    widget = notebook.widgets(cell).first
    widget.wait_for()
    run_id = str(widget.get_attribute("data-run-id"))
    wait_status(widget, "succeeded")
    lines = wait_lines(widget, lambda lines: {"out", "err"} <= set(lines), what="out and err")
    notebook.screenshot(None, "notebook7", artifacts)
    notebook.screenshot(widget, "notebook7-widget", artifacts)

    # Both streams, once each (their order is the order the server read two pipes in).
    assert sorted(lines) == ["err", "out"], lines
    assert badge_text(widget) == "succeeded · exit 0"
    assert widget.locator(".nebula-title").inner_text() == "nb7"
    assert widget.locator(".nebula-cancel").is_disabled()
    history = notebook.history(run_id)
    assert history[-1] == "succeeded", history
    assert not {"failed", "cancelled"} & set(history), history
    for style in span_styles(widget, "err"):
        assert is_red(style["color"]), f"stderr is not red: {style}"
    for style in span_styles(widget, "out"):
        assert not is_red(style["color"]), f"stdout is red: {style}"

    # The widget found the server from Notebook 7's page config: the stream is under the base URL.
    streams = [url for url in sockets if is_stream_url(url)]
    assert streams, sockets
    for url in streams:
        parts = urlsplit(url)
        assert parts.path == f"{lab.base_url}api/nebula/runs/{run_id}/stream", url
    # A short run: the terminal holds its two lines and the cursor's row, not 320 px of blank.
    height = widget.locator(".nebula-term").evaluate("el => el.getBoundingClientRect().height")
    assert height < 120, height
