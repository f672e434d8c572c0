"""Which finished runs to delete so that history does not grow without bound (CONTRACT §1.2).

Two rules, both off when 0: ``max_age_seconds`` (finished longer ago than this) and
``max_stored_bytes`` (while all stored output is larger, the oldest finished runs go). Active
runs are never chosen. A pass chooses at most :data:`BATCH` runs, so it never holds the event
loop for long; the next pass continues.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

from .database import RecordStore

BATCH = 200


@dataclasses.dataclass(frozen=True)
class Retention:
    """How long and how much finished runs are kept (``c.NebulaApp.retention_seconds`` …)."""

    max_age_seconds: float = 0.0
    max_stored_bytes: int = 0
    interval_seconds: float = 60.0

    @property
    def enabled(self) -> bool:
        """Say whether any rule is on."""
        return self.max_age_seconds > 0 or self.max_stored_bytes > 0

    def expired(self, records: RecordStore, now: datetime | None = None) -> list[str]:
        """Return the ids of finished runs to delete now, oldest first, at most ``BATCH``."""
        chosen: list[str] = []
        if self.max_age_seconds > 0:
            cutoff = (now or datetime.now(UTC)) - timedelta(seconds=self.max_age_seconds)
            stamp = cutoff.isoformat(timespec="milliseconds").replace("+00:00", "Z")
            chosen += records.finished_before(stamp, BATCH)
        if self.max_stored_bytes > 0:
            excess = records.stored_bytes() - self.max_stored_bytes
            for run_id, size in records.oldest_finished(BATCH):
                if excess <= 0:
                    break
                if run_id not in chosen:
                    chosen.append(run_id)
                excess -= size
        return chosen[:BATCH]
