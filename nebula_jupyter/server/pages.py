"""Pages of the run list (CONTRACT §2): ``limit``, ``before`` and an opaque ``next`` cursor.

A cursor names the position of the last run of a page; the next page holds the runs created
before it. New runs get higher positions, so following ``next`` visits every run exactly
once while runs are created meanwhile. Cursors are signed with a key shared by every server of
the data dir: a forged or damaged cursor is refused (400) before any query runs.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from typing import TypedDict

from ..protocol import RunRecord
from .errors import InvalidRequest

MAX_LIMIT = 1000
DEFAULT_LIMIT = 100
_CURSOR = re.compile(r"([0-9]{1,18})\.([0-9a-f]{16})")


class Page(TypedDict):
    """The body of ``GET api/nebula/runs``."""

    runs: list[RunRecord]
    next: str | None


class PageCursor:
    """Make and check ``next`` cursors."""

    def __init__(self, key: str) -> None:
        self._key = key.encode()

    def _sign(self, position: int) -> str:
        return hmac.new(self._key, str(position).encode(), hashlib.sha256).hexdigest()[:16]

    def cursor(self, position: int) -> str:
        """Return the cursor of the page that follows ``position``."""
        return f"{position}.{self._sign(position)}"

    def position(self, cursor: str | None) -> int | None:
        """Return the position a cursor names (None: the first page).

        Raises :class:`InvalidRequest` for a cursor this data dir did not make.
        """
        if cursor is None:
            return None
        match = _CURSOR.fullmatch(cursor)
        if match is None or not hmac.compare_digest(match[2], self._sign(int(match[1]))):
            raise InvalidRequest("'before' is not a cursor from this server; use 'next' as is.")
        return int(match[1])
