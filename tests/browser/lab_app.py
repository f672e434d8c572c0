"""Drive JupyterLab's own UI and the nebula extension in it, through the DOM like a user (palette,
menus, clicks) or through command ids like another extension (``window.jupyterapp``, which the
test server exposes)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from playwright.sync_api import Locator, Page

from .lab_server import LabServer
from .polling import poll

PANEL = "#nebula-runs-panel"
TERMINAL_STATUSES = ("succeeded", "failed", "cancelled")

# Waits two animation frames: what the page changed is laid out and painted.
NEXT_FRAMES = (
    "() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(() => done())))"
)


class LabApp:
    """One JupyterLab page in its own workspace (so a reload restores exactly this test's
    layout, and other tests' tabs never show up here)."""

    def __init__(self, page: Page, lab: LabServer, workspace: str) -> None:
        self.page = page
        self.lab = lab
        self.workspace = workspace

    @property
    def url(self) -> str:
        path = f"lab/workspaces/{quote(self.workspace)}"
        return self.lab.url(f"{path}?token={self.lab.token}")

    def open(self) -> LabApp:
        self.page.goto(self.url)
        self.wait_ready()
        return self

    def reload(self) -> None:
        self.page.reload()
        self.wait_ready()

    def wait_ready(self, timeout: float = 60.0) -> None:
        """JupyterLab has started, restored its layout, and the extension is active."""
        self.page.wait_for_function("() => window.jupyterapp !== undefined", timeout=timeout * 1000)
        self.page.evaluate("() => window.jupyterapp.restored")
        self.page.locator(PANEL).wait_for(state="attached", timeout=timeout * 1000)

    # -- commands ----------------------------------------------------------------------------

    def execute(self, command: str, args: dict[str, Any] | None = None) -> None:
        """Run a command by id and wait for it to finish (its result is not returned: it may be
        a widget)."""
        self.page.evaluate(
            "([id, args]) => window.jupyterapp.commands.execute(id, args).then(() => null)",
            [command, args or {}],
        )

    def has_command(self, command: str) -> bool:
        return bool(self.page.evaluate("id => window.jupyterapp.commands.hasCommand(id)", command))

    def palette(self, label: str) -> None:
        """Open the command palette with its shortcut, search ``label`` and run the match."""
        self.page.keyboard.press("Control+Shift+C")
        search = self.page.locator(".lm-CommandPalette-input:visible")
        search.wait_for()
        search.fill(label)
        item = self.page.locator(".lm-CommandPalette-item:visible").filter(
            has=self.page.locator(".lm-CommandPalette-itemLabel", has_text=label)
        )
        item.first.click()

    def show_file_browser(self) -> Locator:
        """The file browser, shown by a click on its sidebar icon if it is not (a click on the
        icon of a shown panel would hide it)."""
        browser = self.page.locator("#filebrowser")
        if not browser.is_visible():
            self.page.locator('.jp-SideBar [data-id="filebrowser"]').click()
        browser.wait_for(state="visible")
        return browser

    def file_item(self, name: str) -> Locator:
        return self.page.locator("#filebrowser .jp-DirListing-item").filter(
            has=self.page.locator(
                ".jp-DirListing-itemText", has_text=re.compile(f"^{re.escape(name)}$")
            )
        )

    # -- the Runs panel ----------------------------------------------------------------------

    @property
    def panel(self) -> Locator:
        return self.page.locator(PANEL)

    def row(self, run_id: str) -> Locator:
        return self.panel.locator(f'.nebula-runs-row[data-run-id="{run_id}"]')

    @property
    def rows(self) -> Locator:
        return self.panel.locator(".nebula-runs-row")

    def sidebar_tab(self) -> Locator:
        """The panel's tab in the left sidebar (an icon a person clicks)."""
        return self.page.locator(f'.jp-SideBar [data-id="{PANEL[1:]}"]')

    # -- run tabs ----------------------------------------------------------------------------

    def tab(self, run_id: str) -> Locator:
        """A run's main-area tab (its content and toolbar)."""
        return self.page.locator(f"#nebula-run-{run_id}")

    def view(self, run_id: str) -> Locator:
        """The run view inside the tab: the same DOM as the notebook widget (js/README.md)."""
        return self.tab(run_id).locator(".nebula-run")

    def tab_title(self, run_id: str) -> Locator:
        return self.page.locator(
            f'.lm-DockPanel-tabBar .lm-TabBar-tab[data-id="nebula-run-{run_id}"]'
        )

    def current_tab_id(self) -> str | None:
        """The id of the main-area widget in front (JupyterLab's own idea of it)."""
        current = self.page.evaluate(
            "() => { const w = window.jupyterapp.shell.currentWidget; return w ? w.id : null; }"
        )
        return str(current) if current else None

    def open_run_ids(self) -> list[str]:
        """The runs open in main-area tabs, in tab order."""
        ids: list[str] = self.page.evaluate(
            """() => Array.from(document.querySelectorAll('.lm-DockPanel-tabBar .lm-TabBar-tab'),
                 tab => tab.dataset.id || '')"""
        )
        return [i[len("nebula-run-") :] for i in ids if i.startswith("nebula-run-")]

    def latest_run_tab(self, before: set[str], timeout: float = 20.0) -> str:
        """The id of the run tab that opened since ``before`` (the open tabs' ids then)."""

        def opened() -> str | None:
            new = [run_id for run_id in self.open_run_ids() if run_id not in before]
            return new[-1] if new else None

        return poll(opened, timeout, "a new run tab", page=self.page)

    # -- notifications -----------------------------------------------------------------------

    def toasts(self) -> Locator:
        return self.page.locator(".Toastify__toast")

    def toast(self, text: str | re.Pattern[str]) -> Locator:
        return self.toasts().filter(has_text=text)

    # -- the status bar ----------------------------------------------------------------------

    @property
    def status_item(self) -> Locator:
        return self.page.locator("#jp-main-statusbar .nebula-statusbar-item")

    def settle(self) -> None:
        self.page.evaluate(NEXT_FRAMES)


def wait_view_status(view: Locator, *statuses: str, timeout: float = 30.0) -> str:
    def status() -> str | None:
        value = view.get_attribute("data-status")
        return value if value in statuses else None

    return poll(status, timeout, f"run view status {statuses}", page=view.page)


#: The ``open_lab`` fixture: opens JupyterLab in a new page and returns a :class:`LabApp`.
OpenLab = Callable[..., LabApp]
