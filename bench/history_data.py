"""A data dir holding many finished runs, built through nebula's own storage layer (history_scale).

The one place the bench imports the server's code: ``Storage`` and ``StoredRun`` write the
records (and each run's tiny log files) exactly as the server would, in one SQLite transaction,
so building 100,000 runs takes seconds rather than the hours real runs would. The servers under
test only ever read it, through the REST API.

A built data dir is cached under the system's temp dir, keyed by its number of runs and
:data:`VERSION`, and reused while it is younger than :data:`MAX_AGE_DAYS` (its runs finished
within the last days, so that the default 90-day retention deletes none of them).
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from nebula_jupyter.protocol import EndReason, RunStatus, Stream
from nebula_jupyter.server.records import StoredRun
from nebula_jupyter.server.storage import Storage

VERSION = 1  # of what build() writes: a change makes every cached data dir stale
MAX_AGE_DAYS = 30.0
SPACING_SECONDS = 10.0  # between two runs' creation: 100,000 runs span 11.6 days
OWNER = "bench-history-builder"  # no server holds this lock: a gone owner, as after a restart
INFO = "history.json"


@dataclasses.dataclass(frozen=True)
class History:
    """A built data dir: where, how many runs, the oldest and newest ids, how it was built."""

    data_dir: Path
    runs: int
    oldest: str
    newest: str
    build_seconds: float
    built_at: str  # ISO-8601 UTC
    cached: bool = False  # reused from an earlier bench invocation


def _stamp(when: datetime) -> str:
    return when.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def build(data_dir: Path, runs: int) -> History:
    """Write ``runs`` succeeded runs (oldest first), each with a one-line stdout log."""
    started = time.monotonic()
    now = datetime.now(UTC)
    storage = Storage(data_dir)
    records = storage.records
    ids: list[str] = []
    db = records._db  # one transaction for all: the storage layer commits per statement
    db.execute("BEGIN")
    try:
        for index in range(runs):
            created = now - timedelta(seconds=SPACING_SECONDS * (runs - index))
            line = f"run {index} of {runs}\n".encode()
            run = StoredRun(
                id=uuid.uuid4().hex[:16],
                command=["python", "-c", f"print('run {index} of {runs}')"],
                name=f"history-{index}",
                status=RunStatus.SUCCEEDED,
                exit_code=0,
                reason=EndReason.EXITED,
                created_at=_stamp(created),
                started_at=_stamp(created + timedelta(seconds=0.05)),
                finished_at=_stamp(created + timedelta(seconds=1)),
                pid=10_000 + index % 50_000,
                stdout_bytes=len(line),
                last_seq=1,
                host="bench",
            )
            records.insert(run, OWNER)
            records.update(run)  # fills finished_at and stored_bytes, as the server's end does
            writer = storage.writer(run.id)
            writer.append(Stream.STDOUT, line)
            writer.close()
            ids.append(run.id)
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    finally:
        storage.close()
    return History(
        data_dir=data_dir,
        runs=runs,
        oldest=ids[0] if ids else "",
        newest=ids[-1] if ids else "",
        build_seconds=time.monotonic() - started,
        built_at=_stamp(now),
    )


def _load(root: Path, runs: int) -> History | None:
    try:
        info = json.loads((root / INFO).read_text())
        built = datetime.fromisoformat(info["built_at"].replace("Z", "+00:00"))
    except (OSError, ValueError, KeyError):
        return None
    if info.get("version") != VERSION or info.get("runs") != runs:
        return None
    if datetime.now(UTC) - built > timedelta(days=MAX_AGE_DAYS):
        return None
    return History(
        data_dir=root / "data",
        runs=runs,
        oldest=info["oldest"],
        newest=info["newest"],
        build_seconds=info["build_seconds"],
        built_at=info["built_at"],
        cached=True,
    )


def cached(runs: int) -> History:
    """The data dir of ``runs`` finished runs: reused from the cache, or built into it."""
    root = Path(tempfile.gettempdir()) / f"nebula-bench-history-v{VERSION}-{runs}"
    found = _load(root, runs)
    if found is not None:
        return found
    shutil.rmtree(root, ignore_errors=True)
    partial = Path(tempfile.mkdtemp(prefix=f"{root.name}-building-", dir=root.parent))
    try:
        history = build(partial / "data", runs)
        info = dataclasses.asdict(history)
        info.update(version=VERSION, data_dir=None)
        (partial / INFO).write_text(json.dumps(info, indent=1))
        partial.rename(root)  # whole or not at all: a killed build leaves no cache behind
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return dataclasses.replace(history, data_dir=root / "data")


def empty(parent: Path) -> History:
    """A data dir with no runs (its database made, as a server's first start would)."""
    return build(Path(tempfile.mkdtemp(prefix="history-empty-", dir=parent)) / "data", 0)
