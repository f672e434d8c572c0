"""The registry of runs and the handlers' only door: create, list, cancel, delete, subscribe, logs.

Handlers parse, authorize, call one method of :class:`RunManager` and serialize what it
returns (records as JSON dicts, a :class:`Subscription`, or blocks of log bytes); they never
see a :class:`RunProcess`, a feed or storage.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import logging
import signal
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path

from ..protocol import RUN_ID_ENV, RUN_ID_PATTERN, EndReason, RunRecord, RunStatus, Stream
from .errors import InvalidRequest, RunConflict, RunNotFound, ShuttingDown, TooManyRuns
from .fanout import OutputFeed, StreamQuery, Subscription
from .processes import signal_run
from .records import RunRequest, StoredRun
from .run import LaunchSpec, RunProcess, RunTimings
from .storage import Storage

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class ManagerConfig:
    """Limits and the environment every run starts from."""

    root_dir: Path
    env_factory: Callable[[], dict[str, str]]
    max_concurrent_runs: int = 8
    max_queued_runs: int = 100
    timings: RunTimings = dataclasses.field(default_factory=RunTimings)


class RunManager:
    """Own every run of this server; the only entry point the handlers use."""

    def __init__(self, storage: Storage, config: ManagerConfig) -> None:
        self.storage = storage
        self.config = config
        self.shutting_down = False
        self._runs: dict[str, RunProcess] = {}
        self._queue: collections.deque[tuple[RunProcess, LaunchSpec]] = collections.deque()
        self._active: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    # -- startup ---------------------------------------------------------------------------

    def recover(self) -> None:
        """Load stored runs; runs that were active when the server died become ``server_lost``."""
        for record in self.storage.records.load_all():
            run = self._make_run(record, writer=False)
            self._runs[record.id] = run
            if record.status.terminal:
                run.feed.publish_status(record)
                continue
            reader = self.storage.reader(record.id)
            record.stdout_bytes = reader.stream_size(Stream.STDOUT)
            record.stderr_bytes = reader.stream_size(Stream.STDERR)
            record.last_seq = reader.count()
            run.feed.last_seq = record.last_seq
            # After a crash the pid may have been reused: trust only the run's marker.
            signal_run(record.id, None, signal.SIGKILL)
            run.fail_lost()
            log.warning("Run %s was active when the server stopped: marked failed.", record.id)

    # -- queries ---------------------------------------------------------------------------

    def _get(self, run_id: str) -> RunProcess:
        run = self._runs.get(run_id) if RUN_ID_PATTERN.match(run_id) else None
        if run is None:
            raise RunNotFound(run_id)
        return run

    def get_record(self, run_id: str) -> RunRecord:
        """Return one run's record; raise :class:`RunNotFound`."""
        return self._get(run_id).record.to_record()

    def list_records(self, status: str | None = None) -> list[RunRecord]:
        """Return records newest first, optionally only those with one status.

        Raises :class:`InvalidRequest` for an unknown status.
        """
        wanted: RunStatus | None = None
        if status is not None:
            try:
                wanted = RunStatus(status)
            except ValueError:
                choices = ", ".join(s.value for s in RunStatus)
                raise InvalidRequest(f"Unknown 'status'; use one of {choices}.") from None
        return [
            run.record.to_record()
            for run in reversed(self._runs.values())
            if wanted is None or run.record.status is wanted
        ]

    def subscribe(self, run_id: str, query: StreamQuery) -> Subscription:
        """Prepare one viewer's stream of a run (CONTRACT §3); start it with ``run(sink)``.

        Raises :class:`RunNotFound`, or :class:`InvalidRequest` when ``after_seq`` is beyond
        the run's last seq.
        """
        run = self._get(run_id)
        if query.after_seq > run.feed.last_seq:
            raise InvalidRequest("'after' is beyond the run's last seq.")
        return Subscription(run.feed, query)

    def log_blocks(
        self, run_id: str, stream: Stream | None, *, follow: bool = False
    ) -> AsyncIterator[bytes]:
        """Return a run's stored bytes (one stream, or both in seq order) in blocks of ≤ 1 MiB.

        With ``follow`` the iterator keeps yielding new output until the run has ended.
        Raises :class:`RunNotFound` at once, not at the first block.
        """
        return self._log_blocks(self._get(run_id), stream, follow)

    async def _log_blocks(
        self, run: RunProcess, stream: Stream | None, follow: bool
    ) -> AsyncIterator[bytes]:
        position = 0
        while True:
            changed = run.feed.changed()
            ended = run.record.status.terminal
            for position, block in run.feed.reader.iter_raw(stream, position):  # noqa: B007, B020
                yield block
            if ended or not follow:
                return
            await changed.wait()

    @property
    def active_count(self) -> int:
        """Return how many runs are queued or running."""
        return len(self._active) + len(self._queue)

    # -- commands --------------------------------------------------------------------------

    async def create(self, request: RunRequest) -> RunRecord:
        """Validate, store and start (or queue) a new run; return its record.

        A run that gets a slot at once is spawned before this returns, so the record says
        ``running`` (or ``failed`` for a spawn error). Raises :class:`InvalidRequest` (bad
        cwd), :class:`TooManyRuns` (queue full), :class:`ShuttingDown`.
        """
        if self.shutting_down:
            raise ShuttingDown("The server is shutting down.")
        cwd, cwd_label = self._resolve_cwd(request.cwd)
        if len(self._active) >= self.config.max_concurrent_runs and (
            len(self._queue) >= self.config.max_queued_runs
        ):
            raise TooManyRuns(
                f"Too many runs: {len(self._active)} running and {len(self._queue)} queued "
                f"(max_queued_runs = {self.config.max_queued_runs})."
            )
        run_id = uuid.uuid4().hex[:16]
        record = StoredRun(id=run_id, command=request.command, cwd=cwd_label, name=request.name)
        argv = (
            ["/bin/sh", "-c", request.command]
            if isinstance(request.command, str)
            else list(request.command)
        )
        env = {**self.config.env_factory(), **request.env, RUN_ID_ENV: run_id}
        self.storage.records.insert(record)
        run = self._make_run(record, writer=True)
        self._runs[run_id] = run
        run.feed.publish_status(record)
        self._queue.append((run, LaunchSpec(argv=argv, cwd=cwd, env=env)))
        spawn = self._start_next().get(run_id)
        if spawn is not None:
            await asyncio.shield(spawn)
        return record.to_record()

    def cancel(self, run_id: str) -> RunRecord:
        """Cancel a queued or running run and return its record; repeating it is harmless.

        Raises :class:`RunNotFound`, or :class:`RunConflict` once the run has ended.
        """
        run = self._get(run_id)
        for index, (queued, _) in enumerate(self._queue):
            if queued is run:
                del self._queue[index]
                break
        run.cancel()
        return run.record.to_record()

    def delete(self, run_id: str) -> None:
        """Forget a finished run and its output; raise :class:`RunConflict` while it is active."""
        run = self._get(run_id)
        if not run.record.status.terminal:
            raise RunConflict(
                f"Run {run_id} is {run.record.status}; cancel it before deleting.",
                run.record.to_record(),
            )
        del self._runs[run_id]
        self.storage.delete(run_id)
        run.feed.mark_deleted()

    async def shutdown(self) -> None:
        """Cancel every active run (``server_shutdown``) and wait until their processes are gone."""
        self.shutting_down = True
        while self._queue:
            run, _ = self._queue.popleft()
            run.cancel(EndReason.SERVER_SHUTDOWN)
        active = [self._runs[run_id] for run_id in list(self._active)]
        for run in active:
            with contextlib.suppress(RunConflict):
                run.cancel(EndReason.SERVER_SHUTDOWN)
        timings = self.config.timings
        deadline = timings.cancel_grace_seconds + timings.drain_timeout_seconds + 2
        if active:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    asyncio.gather(*(run.ended.wait() for run in active)), deadline
                )
        for task in list(self._tasks):
            task.cancel()
        self.storage.close()

    # -- internals -------------------------------------------------------------------------

    def _resolve_cwd(self, cwd: str) -> tuple[Path, str]:
        root = self.config.root_dir.resolve()
        path = (root / cwd).resolve()
        if not path.is_relative_to(root):
            raise InvalidRequest(f"'cwd' {cwd!r} is outside the server's root directory.")
        if not path.is_dir():
            raise InvalidRequest(f"'cwd' {cwd!r} is not an existing directory.")
        label = path.relative_to(root).as_posix()
        return path, "" if label == "." else label

    def _make_run(self, record: StoredRun, *, writer: bool) -> RunProcess:
        reader = self.storage.reader(record.id)
        return RunProcess(
            record,
            records=self.storage.records,
            writer=self.storage.writer(record.id) if writer else None,
            feed=OutputFeed(reader, last_seq=record.last_seq),
            timings=self.config.timings,
            on_end=self._on_run_end,
        )

    def _start_next(self) -> dict[str, asyncio.Task[None]]:
        """Start queued runs while slots are free; return their spawn tasks by run id."""
        started: dict[str, asyncio.Task[None]] = {}
        while self._queue and len(self._active) < self.config.max_concurrent_runs:
            run, spec = self._queue.popleft()
            self._active.add(run.record.id)
            task = asyncio.get_running_loop().create_task(run.start(spec))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            started[run.record.id] = task
        return started

    def _on_run_end(self, run: RunProcess) -> None:
        self._active.discard(run.record.id)
        if not self.shutting_down:
            self._start_next()
