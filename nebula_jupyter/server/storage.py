"""Everything a data dir holds: the records database and the per-run output files.

Layout under ``data_dir``::

    runs.sqlite3            the records (database.py), shared by every server of this dir
    runs/<id>/              one run's output (logs.py)
    servers/<owner>.lock    one per live server (owners.py)
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from pathlib import Path

from .database import RecordStore
from .logs import LogReader, LogWriter

#: Below this much free space a new run is refused (507): it could not store anything.
MIN_FREE_BYTES = 256 * 1024


class Storage:
    """The records database and the per-run log directories under one ``data_dir``."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.records = RecordStore(data_dir / "runs.sqlite3")

    def run_dir(self, run_id: str) -> Path:
        """Return the directory holding a run's output."""
        return self.data_dir / "runs" / run_id

    def writer(self, run_id: str) -> LogWriter:
        """Open a run's output for appending; raises OSError (e.g. ENOSPC)."""
        return LogWriter(self.run_dir(run_id))

    def reader(self, run_id: str) -> LogReader:
        """Open a run's output for reading."""
        return LogReader(self.run_dir(run_id))

    def free_bytes(self) -> int:
        """Return the space left for output in the data dir's file system."""
        stats = os.statvfs(self.data_dir)
        return stats.f_bavail * stats.f_frsize

    def delete(self, run_id: str) -> None:
        """Remove a run's record and output; works on a full disk (files go first).

        Raises ``sqlite3.Error`` if the record cannot be removed even then.
        """
        try:
            self.records.delete(run_id)
        except sqlite3.OperationalError:
            # A full disk: even a delete needs room in SQLite's log. Free the output first.
            shutil.rmtree(self.run_dir(run_id), ignore_errors=True)
            self.records.delete(run_id)
        shutil.rmtree(self.run_dir(run_id), ignore_errors=True)

    def close(self) -> None:
        """Release the database."""
        self.records.close()
