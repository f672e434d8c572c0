"""Browser fixtures: one real JupyterLab and one Chromium per session, a fresh page per test.

Run with ``pytest -o addopts="" -p no:cacheprovider tests/browser`` (the main suite's addopts
ignore this folder). Chromium is Debian's, never downloaded: a missing browser FAILS the
suite, it is never skipped.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .lab_app import LabApp, OpenLab
from .lab_server import ROOT, LabServer
from .notebook_page import STATE_RECORDER, NotebookPage, OpenNotebook

CHROMIUM = os.environ.get("NEBULA_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = ROOT / "test-artifacts" / "browser"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    # Kept on the item so the page fixture can screenshot a failing test before closing.
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


# tests/conftest.py loads pytest_jupyter, whose autouse fixtures manage an asyncio loop and an
# in-process ServerApp per test; here the server is a subprocess and Playwright's sync API owns
# the loop, so both are switched off for this folder.
@pytest.fixture
def jp_asyncio_loop() -> None:
    return None


@pytest.fixture
def jp_server_cleanup() -> None:
    return None


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    if not Path(CHROMIUM).is_file():
        pytest.fail(
            f"Chromium not found at {CHROMIUM}: install Debian's `chromium` package "
            "(apt-get install chromium) or set NEBULA_CHROMIUM. The browser tests never "
            "download a browser and are never skipped.",
            pytrace=False,
        )
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as err:
        pytest.fail(
            f"Playwright for Python is not installed ({err}): pip install playwright", pytrace=False
        )
    with sync_playwright() as playwright:
        try:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
            )
        except Exception as err:
            pytest.fail(f"Could not launch {CHROMIUM}: {err}", pytrace=False)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    server = LabServer(tmp_path_factory.mktemp("jupyterlab"))
    try:
        server.start()
    except RuntimeError as err:  # the message carries the server's log
        server.stop()
        pytest.fail(str(err), pytrace=False)
    yield server
    server.stop()


class BrowserPages:
    """One test's browser context: pages that collect nebula's errors; screenshots on failure."""

    def __init__(
        self, chromium: Any, request: pytest.FixtureRequest, artifacts: Path, size: tuple[int, int]
    ) -> None:
        self.context = chromium.new_context(viewport={"width": size[0], "height": size[1]})
        self.context.add_init_script(STATE_RECORDER)
        self.context.set_default_timeout(30_000)
        self.request = request
        self.artifacts = artifacts
        self.stem = re.sub(r"[^A-Za-z0-9_]+", "_", request.node.name)
        self.pages: list[Any] = []
        self.errors: list[str] = []

    def new_page(self) -> Any:
        page = self.context.new_page()
        page.on("pageerror", lambda err: self.errors.append(f"pageerror: {err}"))
        page.on("console", self._console)
        # JupyterLab may ask "leave the page?" (unsaved changes) on reload: always leave.
        page.on("dialog", lambda dialog: dialog.accept())
        self.pages.append(page)
        return page

    def _console(self, message: Any) -> None:
        if message.type in ("error", "warning") and "nebula" in message.text:
            self.errors.append(f"console: {message.text}")

    def close(self) -> None:
        failed = any(
            getattr(self.request.node, f"report_{when}", None) is not None
            and getattr(self.request.node, f"report_{when}").failed
            for when in ("setup", "call")
        )
        if failed:
            for page in self.pages:
                with contextlib.suppress(Exception):  # a best-effort artifact
                    page.screenshot(path=str(self.artifacts / f"FAILED-{self.stem}.png"))
            if self.errors:
                print("\n".join(self.errors))
        self.context.close()


@pytest.fixture
def open_notebook(
    request: pytest.FixtureRequest, chromium: Any, lab: LabServer, artifacts: Path
) -> Iterator[OpenNotebook]:
    """Write a notebook with the given code cells (or copy one), open it in a new page and wait
    for its kernel: ``open_notebook(*cells)`` or ``open_notebook(copy_of=path)``; in Notebook 7's
    UI instead of JupyterLab's with ``ui="notebook7"``. The kernel is shut down after the
    test."""
    pages = BrowserPages(chromium, request, artifacts, (1280, 1200))

    def open_(*cells: str, copy_of: Path | None = None, ui: str = "lab") -> NotebookPage:
        opened = len(pages.pages)
        name = f"{pages.stem}.ipynb" if not opened else f"{pages.stem}_{opened}.ipynb"
        if copy_of is not None:
            shutil.copyfile(copy_of, lab.root_dir / name)
        else:
            lab.write_notebook(name, *cells)
        return NotebookPage(pages.new_page(), lab, name, ui).open()

    yield open_
    pages.close()
    lab.shutdown_kernels()


@pytest.fixture
def open_lab(
    request: pytest.FixtureRequest, chromium: Any, lab: LabServer, artifacts: Path
) -> Iterator[OpenLab]:
    """Open JupyterLab in a new page, in a workspace of this test's own: ``open_lab()``, or
    ``open_lab(server=other)`` for another LabServer. Badge and connection changes of every run
    view are recorded (``NotebookPage.history`` reads them the same way)."""
    pages = BrowserPages(chromium, request, artifacts, (1400, 1000))

    def open_(server: LabServer | None = None) -> LabApp:
        workspace = f"{pages.stem}-{len(pages.pages)}"
        return LabApp(pages.new_page(), server or lab, workspace).open()

    yield open_
    pages.close()
