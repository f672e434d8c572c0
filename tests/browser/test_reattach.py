"""The widget keeps its stream whole across reloads and dropped connections, lets go of it
when its view goes away, and says so when there is no Jupyter server to talk to."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .lab_server import ROOT, LabServer, free_port
from .notebook_page import STATE_RECORDER, OpenNotebook, wait_attr, wait_lines, wait_status
from .polling import poll
from .programs import (
    EXPECTED_NUMBERED,
    NUMBERED,
    NUMBERED_LINES,
    TICKING,
    is_stream_url,
    start_run_cell,
)


def test_reload_mid_run_reattaches_and_shows_every_line_once(
    open_notebook: OpenNotebook, lab: LabServer, artifacts: Path
) -> None:
    # 480 px holds all the lines on screen: the DOM renderer only has the visible rows.
    notebook = open_notebook(
        start_run_cell(NUMBERED, "numbered", "nj.RunTerminal(run.id, height_px=480)")
    )
    widget = notebook.widgets(notebook.run_cell(0)).first
    widget.wait_for()
    run_id = str(widget.get_attribute("data-run-id"))
    before = wait_lines(widget, lambda lines: len(lines) >= 4, what="four lines")
    # Saved so that the reloaded page has the cell's widget output to re-render.
    notebook.save()
    assert lab.run_record(run_id)["status"] == "running", "the run ended before the reload"
    notebook.screenshot(widget, "reload-before", artifacts)

    notebook.page.reload()
    notebook.wait_ready()
    widget = notebook.widgets().first
    widget.wait_for(timeout=30_000)
    assert widget.get_attribute("data-run-id") == run_id
    wait_status(widget, "succeeded", timeout=30)
    lines = wait_lines(
        widget, lambda lines: len(lines) >= NUMBERED_LINES, timeout=10, what="all lines"
    )
    notebook.screenshot(widget, "reload-after", artifacts)

    assert lines == EXPECTED_NUMBERED, {"before_reload": before, "after_reload": lines}


def test_dropped_connection_resumes_without_gap_or_duplicate(
    open_notebook: OpenNotebook, artifacts: Path
) -> None:
    notebook = open_notebook(
        start_run_cell(NUMBERED, "resume", "nj.RunTerminal(run.id, height_px=480)")
    )
    # Every stream socket goes through this route: the test can cut one like a flaky network,
    # and sees the URL each attempt asked for. The first retry is refused too.
    sockets: list[Any] = []

    def route(ws: Any) -> None:
        sockets.append(ws)
        if len(sockets) == 2:
            ws.close(code=1011, reason="test: server still unreachable")
        else:
            ws.connect_to_server()

    notebook.page.route_web_socket(is_stream_url, route)
    widget = notebook.widgets(notebook.run_cell(0)).first
    widget.wait_for()
    run_id = str(widget.get_attribute("data-run-id"))
    before = wait_lines(widget, lambda lines: len(lines) >= 4, what="four lines")
    assert len(sockets) == 1

    sockets[0].close(code=4000, reason="test: connection dropped")
    wait_attr(widget, "data-connection", lambda value: value == "reconnecting", timeout=5)
    notebook.screenshot(widget, "reconnecting", artifacts)
    wait_status(widget, "succeeded", timeout=30)
    lines = wait_lines(
        widget, lambda lines: len(lines) >= NUMBERED_LINES, timeout=10, what="all lines"
    )
    assert lines == EXPECTED_NUMBERED, {"before_drop": before, "after": lines}

    queries = [parse_qs(urlsplit(ws.url).query) for ws in sockets]
    assert len(queries) >= 3, [ws.url for ws in sockets]
    assert queries[0]["after"] == ["0"] and "tail" in queries[0], queries[0]
    resumed = int(queries[-1]["after"][0])
    assert resumed >= len(before), (resumed, before)  # one chunk per line at least
    for query in queries[1:]:
        assert "tail" not in query, query  # a second tail would cut a hole in the output
    # The first "connecting" is written before the view is in the document (not always seen).
    connection = notebook.history(run_id, "connection")
    assert [state for state in connection if state != "connecting"][:2] == [
        "open",
        "reconnecting",
    ], connection
    assert connection[-2:] == ["open", "closed"], connection


def test_removing_the_view_closes_its_stream(open_notebook: OpenNotebook) -> None:
    notebook = open_notebook(start_run_cell(TICKING, "removed"))
    opened: list[str] = []
    closed: list[int | None] = []

    def route(ws: Any) -> None:
        opened.append(ws.url)
        server = ws.connect_to_server()

        def on_close(code: int | None, reason: str | None) -> None:
            closed.append(code)
            server.close()

        ws.on_close(on_close)

    notebook.page.route_web_socket(is_stream_url, route)
    widget = notebook.widgets(notebook.run_cell(0)).first
    widget.wait_for()
    wait_lines(widget, lambda lines: "tick 2" in lines, what="a few ticks")
    assert closed == []

    notebook.clear_all_outputs()
    widget.wait_for(state="detached")
    poll(lambda: closed, 5, "the removed view's socket closed", page=notebook.page)
    # The page closed it, normally (later entries are the route closing the server side).
    assert closed[0] == 1000, closed
    # Nothing reconnects behind the user's back.
    notebook.page.wait_for_timeout(1500)
    assert len(opened) == 1, opened
    assert notebook.page.locator(".nebula-run").count() == 0


# The bundle in a page that is not Jupyter (as in VS Code or Colab): no config data. The page's
# origin is http://widget.test, served by Playwright's router.
STANDALONE_ORIGIN = "http://widget.test"


def open_standalone_widget(context: Any, **traits: Any) -> tuple[Any, list[str]]:
    """A page with nothing but the widget bundle, rendering one widget with ``traits``; returns
    the page and the URL of every WebSocket it opens. ``window.__cleanup()`` removes the view."""
    static = ROOT / "nebula_jupyter" / "static"
    page = context.new_page()
    sockets: list[str] = []
    page.on("websocket", lambda ws: sockets.append(ws.url))
    files = {
        "/": ("text/html", "<!doctype html><html><body></body></html>"),
        "/widget.js": ("text/javascript", (static / "widget.js").read_text()),
        "/widget.css": ("text/css", (static / "widget.css").read_text()),
    }

    def serve(route: Any) -> None:
        content_type, body = files[urlsplit(route.request.url).path]
        route.fulfill(status=200, content_type=content_type, body=body)

    page.route(f"{STANDALONE_ORIGIN}/**", serve)
    page.goto(f"{STANDALONE_ORIGIN}/")
    page.add_style_tag(url=f"{STANDALONE_ORIGIN}/widget.css")
    all_traits = {
        "run_id": "abc123",
        "height_px": 200,
        "tail_bytes": 2_000_000,
        "show_cancel": True,
        "font_size_px": 13,
        "base_url": "",
        **traits,
    }
    page.evaluate(
        """async ([origin, traits]) => {
          const widget = (await import(`${origin}/widget.js`)).default;
          const model = {get: (name) => traits[name], on() {}, off() {}};
          const el = document.createElement("div");
          document.body.appendChild(el);
          window.__cleanup = widget.render({model, el});
        }""",
        [STANDALONE_ORIGIN, all_traits],
    )
    return page, sockets


def test_without_a_jupyter_page_the_widget_says_so(chromium: Any, artifacts: Path) -> None:
    context = chromium.new_context(viewport={"width": 900, "height": 400})
    try:
        page, sockets = open_standalone_widget(context)
        root = page.locator(".nebula-run")
        message = root.locator(".nebula-message")
        message.wait_for()
        root.screenshot(path=str(artifacts / "no-server.png"))
        assert root.get_attribute("data-connection") == "unavailable"
        assert "No Jupyter server" in message.inner_text()
        assert message.get_attribute("data-kind") == "info"
        # Nothing to show about the run and nothing to cancel: no empty badge, no button.
        assert root.locator(".nebula-badge").is_hidden()
        assert root.locator(".nebula-cancel").is_hidden()
        assert root.locator(".nebula-cancel").is_disabled()
        assert root.locator(".nebula-connection").inner_text() == "no server"
        assert root.locator(".nebula-term").is_hidden()
        assert sockets == []
        # anywidget's cleanup contract: render() returned a function that removes the view.
        page.evaluate("() => window.__cleanup()")
        assert page.locator(".nebula-run").count() == 0
    finally:
        context.close()


def test_a_foreign_origin_that_never_answers_gives_up_with_a_message(
    chromium: Any, artifacts: Path
) -> None:
    # base_url on another origin, where nothing listens: each handshake fails as close 1006 and
    # the diagnosis request is refused too, so nothing says why. The view stops after a few
    # attempts instead of showing "reconnecting…" for ever.
    other = f"http://127.0.0.1:{free_port()}"
    context = chromium.new_context(viewport={"width": 900, "height": 400})
    context.add_init_script(STATE_RECORDER)
    try:
        page, sockets = open_standalone_widget(context, base_url=f"{other}/hub/")
        root = page.locator(".nebula-run")
        message = root.locator(".nebula-message")
        message.wait_for(timeout=20_000)
        root.screenshot(path=str(artifacts / "foreign-origin-gave-up.png"))

        text = message.inner_text()
        assert text.startswith(f"Could not connect to {other} (4 attempts)."), text
        assert f"not this page's server ({STANDALONE_ORIGIN})" in text, text
        assert "leave base_url empty" in text, text
        assert message.get_attribute("data-kind") == "error"
        assert root.get_attribute("data-connection") == "closed"
        assert root.locator(".nebula-badge").is_hidden()
        assert root.locator(".nebula-cancel").is_hidden()
        assert len(sockets) == 4, sockets
        assert all(url.startswith("ws://127.0.0.1:") for url in sockets), sockets
        assert all("/hub/api/nebula/runs/abc123/stream" in url for url in sockets), sockets
        connection = [
            entry["value"]
            for entry in page.evaluate("() => window.__nebulaStates")
            if entry["kind"] == "connection"
        ]
        assert connection == ["connecting", "reconnecting", "closed"], connection
        page.wait_for_timeout(2_000)
        assert len(sockets) == 4, "it tried again after giving up"
    finally:
        context.close()
