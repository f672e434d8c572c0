"""The browser suite's one way to wait: poll a condition until a deadline.

The synchronous twin of tests/waiting.py's ``wait_for``: Playwright's sync API needs the
test's own thread, and while a page is involved the pause between polls is the page's
``wait_for_timeout``, so Playwright keeps running event handlers (WebSocket routes, dialogs)
meanwhile, which a bare ``time.sleep`` would freeze.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from playwright.sync_api import Page

T = TypeVar("T")


def poll(
    condition: Callable[[], T],
    timeout: float,
    what: str,
    *,
    page: Page | None = None,
    interval: float = 0.05,
) -> T:
    """Return the first truthy value of ``condition()``; fail after ``timeout`` seconds,
    saying ``what`` was awaited and the last value seen."""
    deadline = time.monotonic() + timeout
    value = condition()
    while not value:
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not reached within {timeout:g} s (last: {value!r})")
        if page is not None:
            page.wait_for_timeout(interval * 1000)
        else:
            time.sleep(interval)
        value = condition()
    return value
