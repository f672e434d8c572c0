"""Run records in one SQLite database that every server sharing a data dir reads and writes.

Table ``runs``: one row per run, in creation order (``position``), with the record as JSON and
the columns that queries need (status, owner, cancel request, finish time, stored bytes).
Indexes serve the newest-first list, the status filter and retention, so memory and start-up
time do not grow with history (CONTRACT §1.2 "Scale"). WAL mode lets several servers (several
processes) read while one writes; ``busy_timeout`` makes a writer wait for another's commit.

``owner`` names the server that runs the run (see ``owners.py``); ``cancel_requested`` is how
another server asks the owner to cancel it.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from ..protocol import TERMINAL_STATUSES
from .records import StoredRun

log = logging.getLogger(__name__)

SCHEMA_VERSION = 2
_ACTIVE = ("queued", "running")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    position INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT UNIQUE NOT NULL,
    record TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'queued',
    owner TEXT,
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    finished_at TEXT,
    stored_bytes INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS runs_by_status ON runs (status, position);
CREATE INDEX IF NOT EXISTS runs_by_finish ON runs (finished_at) WHERE finished_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS runs_by_owner ON runs (owner, status);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""

# Version 1 had only (position, id, record): add the query columns and fill them from the JSON.
_MIGRATE_1_TO_2 = [
    "ALTER TABLE runs ADD COLUMN status TEXT NOT NULL DEFAULT 'queued'",
    "ALTER TABLE runs ADD COLUMN owner TEXT",
    "ALTER TABLE runs ADD COLUMN cancel_requested INTEGER NOT NULL DEFAULT 0",
    "ALTER TABLE runs ADD COLUMN finished_at TEXT",
    "ALTER TABLE runs ADD COLUMN stored_bytes INTEGER NOT NULL DEFAULT 0",
    "UPDATE runs SET status = coalesce(json_extract(record, '$.status'), 'queued'),"
    " finished_at = json_extract(record, '$.finished_at'),"
    " stored_bytes = coalesce(json_extract(record, '$.stdout_bytes'), 0)"
    " + coalesce(json_extract(record, '$.stderr_bytes'), 0) WHERE json_valid(record)",
]


class RecordStore:
    """Run records in SQLite; every method is one short statement (page-cache I/O).

    Raises ``sqlite3.Error`` (e.g. ``OperationalError: database or disk is full``); callers
    decide what a failure means for them.
    """

    def __init__(self, path: Path) -> None:
        # Commands, folders and errors are the user's business: owner-only, like the logs.
        # SQLite gives its -wal and -shm files the database file's permissions.
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA busy_timeout = 5000")
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._migrate()

    def _migrate(self) -> None:
        if self._db.execute("PRAGMA user_version").fetchone()[0] >= SCHEMA_VERSION:
            return
        # BEGIN IMMEDIATE: two servers starting at once on an old database migrate it once.
        self._db.execute("BEGIN IMMEDIATE")
        try:
            columns = {row[1] for row in self._db.execute("PRAGMA table_info(runs)")}
            if columns and "status" not in columns:
                for statement in _MIGRATE_1_TO_2:
                    self._db.execute(statement)
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.executescript(_SCHEMA)  # idempotent; executescript commits by itself
        self._db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    # -- writes ----------------------------------------------------------------------------

    def insert(self, run: StoredRun, owner: str) -> None:
        """Add a new run owned by server ``owner``."""
        self._db.execute(
            "INSERT INTO runs (id, record, status, owner) VALUES (?, ?, ?, ?)",
            (run.id, _dumps(run), run.status.value, owner),
        )

    def update(self, run: StoredRun) -> None:
        """Overwrite a run's record (and the columns derived from it)."""
        self._db.execute(
            "UPDATE runs SET record = ?, status = ?, finished_at = ?, stored_bytes = ?,"
            " cancel_requested = cancel_requested OR ? WHERE id = ?",
            (
                _dumps(run),
                run.status.value,
                run.finished_at,
                run.stdout_bytes + run.stderr_bytes,
                run.cancel_requested,
                run.id,
            ),
        )

    def request_cancel(self, run_id: str) -> bool:
        """Ask the owner of an active run to cancel it; return False if it is not active."""
        cursor = self._db.execute(
            "UPDATE runs SET cancel_requested = 1 WHERE id = ? AND status IN (?, ?)",
            (run_id, *_ACTIVE),
        )
        return cursor.rowcount > 0

    def cancel_asked(self, run_id: str) -> bool:
        """Say whether another server asked to cancel this run."""
        row = self._db.execute(
            "SELECT cancel_requested FROM runs WHERE id = ?", (run_id,)
        ).fetchone()
        return bool(row and row[0])

    def delete(self, run_id: str) -> None:
        """Forget a run."""
        self._db.execute("DELETE FROM runs WHERE id = ?", (run_id,))

    def adopt(self, run_id: str, owner: str) -> None:
        """Make server ``owner`` responsible for an active run of a server that is gone."""
        self._db.execute("UPDATE runs SET owner = ? WHERE id = ?", (owner, run_id))

    # -- reads -----------------------------------------------------------------------------

    def get(self, run_id: str) -> StoredRun | None:
        """Return one run's record, or None if there is none (or it is damaged)."""
        row = self._db.execute(
            "SELECT position, record, cancel_requested FROM runs WHERE id = ?", (run_id,)
        ).fetchone()
        return _load(row) if row else None

    def page(
        self, *, status: str | None, before: int | None, limit: int
    ) -> list[tuple[int, StoredRun | None]]:
        """Return up to ``limit`` ``(position, run)`` pairs, newest first, below ``before``.

        A damaged record comes back as ``(position, None)``: the caller skips it but still
        knows how far the page reached.
        """
        sql = "SELECT position, record, cancel_requested FROM runs WHERE position < ?"
        args: list[object] = [before if before is not None else 2**63 - 1]
        if status is not None:
            sql += " AND status = ?"
            args.append(status)
        sql += " ORDER BY position DESC LIMIT ?"
        args.append(limit)
        return [(row[0], _load(row)) for row in self._db.execute(sql, args)]

    def active(self) -> Iterator[tuple[StoredRun, str | None]]:
        """Yield every run that is queued or running, with its owner, oldest first."""
        rows = self._db.execute(
            "SELECT position, record, cancel_requested, owner FROM runs"
            " WHERE status IN (?, ?) ORDER BY position",
            _ACTIVE,
        ).fetchall()
        for row in rows:
            run = _load(row[:3])
            if run is not None:
                yield run, row[3]

    def cancel_requests(self, owner: str) -> list[str]:
        """Return the ids of ``owner``'s active runs that another server asked to cancel."""
        rows = self._db.execute(
            "SELECT id FROM runs WHERE owner = ? AND cancel_requested = 1 AND status IN (?, ?)",
            (owner, *_ACTIVE),
        )
        return [row[0] for row in rows]

    def finished_before(self, when: str, limit: int) -> list[str]:
        """Return ids of runs that finished before ``when`` (ISO-8601 UTC), oldest first."""
        rows = self._db.execute(
            "SELECT id FROM runs WHERE finished_at IS NOT NULL AND finished_at < ?"
            " ORDER BY finished_at LIMIT ?",
            (when, limit),
        )
        return [row[0] for row in rows]

    def stored_bytes(self) -> int:
        """Return the output bytes of every run, as recorded."""
        return int(
            self._db.execute("SELECT coalesce(sum(stored_bytes), 0) FROM runs").fetchone()[0]
        )

    def oldest_finished(self, limit: int) -> list[tuple[str, int]]:
        """Return ``(id, stored_bytes)`` of the oldest finished runs, in creation order."""
        placeholders = ", ".join("?" for _ in TERMINAL_STATUSES)
        rows = self._db.execute(
            f"SELECT id, stored_bytes FROM runs WHERE status IN ({placeholders})"  # noqa: S608
            " ORDER BY position LIMIT ?",
            (*sorted(TERMINAL_STATUSES), limit),
        )
        return [(row[0], int(row[1])) for row in rows]

    def meta(self, key: str, default: str) -> str:
        """Return a value shared by every server of this data dir, storing ``default`` first."""
        self._db.execute("INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)", (key, default))
        return str(self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()[0])

    def close(self) -> None:
        """Close the database."""
        self._db.close()


def _dumps(run: StoredRun) -> str:
    return json.dumps(run.to_storage())


def _load(row: tuple[int, str, int]) -> StoredRun | None:
    position, raw, cancel_requested = row
    try:
        run = StoredRun.from_storage(json.loads(raw))
    except (ValueError, TypeError, KeyError) as exc:
        # One bad row (an older version, a hand edit) must not break listing or start-up.
        log.error("Skipping the damaged run record at row %d: %s", position, exc)
        return None
    # Another server may have asked for a cancel that the record's owner has not seen yet.
    if not run.status.terminal:
        run.cancel_requested = run.cancel_requested or bool(cancel_requested)
    return run
