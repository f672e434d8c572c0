"""The handlers' only door: create, list, get, cancel, delete, subscribe and read logs of runs.

Handlers parse, authorize, call one method of :class:`RunManager` and serialize what it
returns (records as JSON dicts, a :class:`Subscription`, or blocks of log bytes); they never
see an :class:`ActiveRun`, a feed or storage (the agent link gets its :class:`RemoteRun`).

Records live in storage, not in memory (CONTRACT §1.2 "Scale"): this server keeps only the
runs it is running or has queued. Every other run, finished or run by another server sharing
the data dir, is read from storage when asked for.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import errno
import logging
import signal
import sqlite3
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine
from pathlib import Path

from .. import link
from ..process.tree import signal_run
from ..protocol import RUN_ID_ENV, RUN_ID_PATTERN, EndReason, RunRecord, RunStatus, Stream
from .errors import (
    AgentUnknown,
    InvalidRequest,
    NotATty,
    RunConflict,
    RunNotFound,
    ShuttingDown,
    StorageFull,
    StorageUnavailable,
    TooManyRuns,
)
from .executors import Executor, ExecutorUnavailable, LocalExecutor
from .fanout import OutputFeed, StreamQuery, Subscription
from .feeds import StoredFeeds, with_stored_counts
from .logs import LogWriter, OutputGone
from .owners import OwnerLock
from .pages import Page, PageCursor
from .records import RunRequest, StoredRun
from .remote import RemoteRun
from .retention import BATCH, Retention
from .run import ActiveRun, LaunchSpec, LocalRun, RunTimings
from .storage import MIN_FREE_BYTES, Storage

log = logging.getLogger(__name__)

#: How often this server looks for cancels asked through other servers and retries saves.
TICK_SECONDS = 0.25
#: How often it checks whether the owners of other servers' active runs are still alive.
OWNER_CHECK_SECONDS = 2.0


@dataclasses.dataclass(frozen=True)
class ManagerConfig:
    """Limits and the environment every run starts from."""

    root_dir: Path
    env_factory: Callable[[], dict[str, str]]
    #: The variables every run gets over its base environment (``c.NebulaApp.child_env``);
    #: a remote run's base is its worker's environment, not this server's.
    child_env: dict[str, str] = dataclasses.field(default_factory=dict)
    executors: dict[str, Executor] = dataclasses.field(
        default_factory=lambda: {"local": LocalExecutor()}
    )
    default_executor: str = "local"
    #: The server's base URL as agents reach it (http or https); see ``c.NebulaApp.agent_url``.
    agent_url: str = ""
    agent_lost_timeout_seconds: float = 30.0
    max_concurrent_runs: int = 8
    max_queued_runs: int = 100
    retention: Retention = dataclasses.field(default_factory=Retention)
    timings: RunTimings = dataclasses.field(default_factory=RunTimings)


class RunManager:
    """This server's runs, and the door to every run stored in the data dir."""

    def __init__(self, storage: Storage, owners: OwnerLock, config: ManagerConfig) -> None:
        self.storage = storage
        self.owners = owners
        self.config = config
        self.shutting_down = False
        self._live: dict[str, ActiveRun] = {}
        self._queue: collections.deque[ActiveRun] = collections.deque()
        self._running: set[str] = set()
        self._unsaved: set[ActiveRun] = set()
        self._adopted: list[RemoteRun] = []
        self._feeds = StoredFeeds(storage)
        self._pages = PageCursor(storage.records.meta("cursor_key", uuid.uuid4().hex))
        self._tasks: set[asyncio.Task[None]] = set()

    # -- start-up and housekeeping ---------------------------------------------------------

    def recover(self, *, at_start: bool = True) -> None:
        """Deal with the stored active runs whose server is provably gone.

        A local run ends ``server_lost`` (its leftovers are killed by their marker). A remote
        run is adopted: its agent may reconnect within ``agent_lost_timeout_seconds`` and
        continue with no gap (CONTRACT §7). Runs of a live server that shares the data dir
        are left alone (CONTRACT §1.2). Runs stored before servers had owners are taken for
        lost only ``at_start``: a periodic pass cannot tell an older server that still runs
        from one that died.
        """
        gone: set[str] = set()
        for run, owner in self.storage.records.active():
            if run.id in self._live or (owner is None and not at_start):
                continue
            if not self.owners.is_gone(owner):
                continue
            if owner is not None:
                gone.add(owner)
            if run.executor != "local" and run.executor in self.config.executors:
                self._adopt(run)
                continue
            if run.pid is not None or run.status is RunStatus.RUNNING:
                # After a crash the pid may have been reused: trust only the run's marker.
                signal_run(run.id, None, signal.SIGKILL)
            with_stored_counts(run, self.storage.reader(run.id))
            # A cancel accepted (202) before the owner died still decides the status.
            run.move_to(RunStatus.CANCELLED if run.cancel_requested else RunStatus.FAILED)
            run.reason = EndReason.CANCELLED if run.cancel_requested else EndReason.SERVER_LOST
            run.error = "The server stopped while this run was active."
            with contextlib.suppress(sqlite3.Error):
                self.storage.records.update(run)
            log.warning("Run %s was active when its server stopped: marked failed.", run.id)
        for owner in gone:
            self.owners.forget(owner)

    def _adopt(self, run: StoredRun) -> None:
        """Take over a remote run of a server that is gone; its agent may come back."""
        try:
            self.storage.records.adopt(run.id, self.owners.owner)
            writer = self.storage.writer(run.id)
        except (OSError, sqlite3.Error):
            log.exception("Could not take over remote run %s", run.id)
            return
        with_stored_counts(run, self.storage.reader(run.id))
        remote = self._remote_run(run, None, writer, {})
        remote.feed.last_seq = run.last_seq
        self._live[run.id] = remote
        log.info("Took over remote run %s; waiting for its agent.", run.id)
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            self._adopted.append(remote)  # start() resumes it once the loop runs
            return
        remote.resume()
        self._spawn(self.config.executors[run.executor].reattach([run.id]))

    def start(self) -> None:
        """Start housekeeping, retention and engine watching (once the event loop runs)."""
        self._spawn(self._housekeeping())
        if self.config.retention.enabled:
            self._spawn(self._retain())
        for executor in self.config.executors.values():
            executor.watch(self._engine_lost)
        adopted, self._adopted = self._adopted, []
        for run in adopted:
            run.resume()
        for executor in self.config.executors.values():
            ids = [run.record.id for run in adopted if run.record.executor == executor.name]
            if ids:
                self._spawn(executor.reattach(ids))

    def _engine_lost(self, run_id: str, why: str) -> None:
        live = self._live.get(run_id)
        if isinstance(live, RemoteRun):
            live.engine_lost(why)

    async def _retain(self) -> None:
        while not self.shutting_down:
            try:
                expired = self.config.retention.expired(self.storage.records)
            except sqlite3.Error:
                expired = []
            for run_id in expired:
                with contextlib.suppress(RunNotFound, RunConflict, OSError, sqlite3.Error):
                    self.delete(run_id)
                    log.info("Deleted run %s (retention).", run_id)
                await asyncio.sleep(0)  # one deletion at a time between other work
            if len(expired) < BATCH:
                await asyncio.sleep(self.config.retention.interval_seconds)

    async def _housekeeping(self) -> None:
        ticks_per_owner_check = round(OWNER_CHECK_SECONDS / TICK_SECONDS)
        tick = 0
        while not self.shutting_down:
            await asyncio.sleep(TICK_SECONDS)
            tick += 1
            try:
                for run_id in self.storage.records.cancel_requests(self.owners.owner):
                    live = self._live.get(run_id)
                    if live is not None and not live.record.cancel_requested:
                        self._cancel_live(live)
                if tick % ticks_per_owner_check == 0:
                    self.recover(at_start=False)
                self._unsaved = {run for run in self._unsaved if not run.save()}
            except sqlite3.Error:
                log.debug("Housekeeping could not read the database", exc_info=True)
            except Exception:
                # One bad pass must not end housekeeping for the server's lifetime.
                log.exception("Housekeeping failed; trying again")

    # -- queries ---------------------------------------------------------------------------

    def _stored(self, run_id: str) -> StoredRun:
        """Return the current record of any run; raise :class:`RunNotFound`."""
        live = self._live.get(run_id)
        if live is not None:
            return live.record
        run = self.storage.records.get(run_id) if RUN_ID_PATTERN.match(run_id) else None
        if run is None:
            raise RunNotFound(run_id)
        if not run.status.terminal:
            with_stored_counts(run, self.storage.reader(run_id))
        return run

    def _feed(self, run_id: str) -> OutputFeed:
        live = self._live.get(run_id)
        return live.feed if live is not None else self._feeds.feed(self._stored(run_id))

    def get_record(self, run_id: str) -> RunRecord:
        """Return one run's record; raise :class:`RunNotFound`."""
        return self._stored(run_id).to_record()

    def list_records(
        self, status: str | None = None, limit: int = 100, before: str | None = None
    ) -> Page:
        """Return one page of records, newest first (CONTRACT §2 pagination).

        ``before`` is the ``next`` cursor of the previous page. Raises :class:`InvalidRequest`
        for an unknown status, a limit outside 1..1000 or a cursor this data dir did not make.
        """
        if status is not None and status not in RunStatus.__members__.values():
            choices = ", ".join(s.value for s in RunStatus)
            raise InvalidRequest(f"Unknown 'status'; use one of {choices}.")
        position = self._pages.position(before)
        rows = self.storage.records.page(status=status, before=position, limit=limit)
        runs = [self._current(run) for _, run in rows if run is not None]
        last = rows[-1][0] if len(rows) == limit else None  # damaged rows count: they were read
        return {"runs": runs, "next": self._pages.cursor(last) if last is not None else None}

    def _current(self, run: StoredRun) -> RunRecord:
        live = self._live.get(run.id)
        if live is not None:
            return live.record.to_record()
        if not run.status.terminal:
            with_stored_counts(run, self.storage.reader(run.id))
        return run.to_record()

    def subscribe(self, run_id: str, query: StreamQuery) -> Subscription:
        """Prepare one viewer's stream of a run (CONTRACT §3); start it with ``run(sink)``.

        Raises :class:`RunNotFound`, or :class:`InvalidRequest` when ``after_seq`` is beyond
        the run's last seq.
        """
        feed = self._feed(run_id)
        if query.after_seq > feed.last_seq:
            raise InvalidRequest("'after' is beyond the run's last seq.")
        return Subscription(feed, query)

    def log_blocks(
        self, run_id: str, stream: Stream | None, *, follow: bool = False
    ) -> AsyncIterator[bytes]:
        """Return a run's stored bytes (one stream, or both in seq order) in blocks of ≤ 1 MiB.

        With ``follow`` the iterator keeps yielding new output until the run has ended.
        Raises :class:`RunNotFound` at once, not at the first block.
        """
        return _log_blocks(self._feed(run_id), stream, follow)

    @property
    def active_count(self) -> int:
        """Return how many of this server's runs are queued or running (local or remote)."""
        return len(self._live)

    def agent_run(self, run_id: str, credential: str) -> RemoteRun:
        """Return the remote run whose agent presents ``credential`` (CONTRACT §7).

        Raises :class:`AgentUnknown` for a wrong credential, an ended run, a local run or a
        run of another server alike.
        """
        live = self._live.get(run_id)
        if not isinstance(live, RemoteRun) or not live.verify(credential):
            raise AgentUnknown()
        return live

    # -- commands --------------------------------------------------------------------------

    async def create(self, request: RunRequest) -> RunRecord:
        """Store and start (or queue) a new run; return its record.

        A local run that gets a slot at once is spawned before this returns, so the record
        says ``running`` (or ``failed`` for a spawn error); a remote run is ``queued`` once
        its engine holds it (CONTRACT §7). Raises :class:`InvalidRequest` (bad cwd, unknown
        or unconfigured executor), :class:`TooManyRuns` (queue full), :class:`StorageFull`,
        :class:`ShuttingDown`.
        """
        if self.shutting_down:
            raise ShuttingDown("The server is shutting down.")
        executor = self._executor(request)
        cwd, cwd_label = self._resolve_cwd(request.cwd)
        if not executor.remote:
            self._check_capacity()
        elif self.storage.free_bytes() < MIN_FREE_BYTES:
            raise StorageFull(_FULL)
        run_id = uuid.uuid4().hex[:16]
        record = StoredRun(
            id=run_id,
            command=request.command,
            cwd=cwd_label,
            name=request.name,
            tty=request.tty,
            executor=executor.name,
        )
        writer = self._store_new(record)
        command = request.command
        argv = ["/bin/sh", "-c", command] if isinstance(command, str) else list(command)
        # A remote run's base environment is its worker's, not this server's (CONTRACT §7).
        base = self.config.child_env if executor.remote else self.config.env_factory()
        terminal_env = _TTY_ENV if request.tty else {}
        env = {**base, **terminal_env, **request.env, RUN_ID_ENV: run_id}
        spec = LaunchSpec(argv=argv, cwd=cwd, env=env, tty=request.tty)
        if executor.remote:
            await self._start_remote(record, spec, writer, request.resources)
        else:
            await self._start_local(record, spec, writer)
        return record.to_record()

    async def _start_local(self, record: StoredRun, spec: LaunchSpec, writer: LogWriter) -> None:
        """Queue a local run; wait for its spawn when it gets a slot at once."""
        run = LocalRun(
            record,
            spec,
            records=self.storage.records,
            writer=writer,
            feed=OutputFeed(self.storage.reader(record.id)),
            timings=self.config.timings,
            on_end=self._on_run_end,
        )
        self._live[record.id] = run
        run.feed.publish_status(record)
        self._queue.append(run)
        spawn = self._start_next().get(record.id)
        if spawn is not None:
            await asyncio.shield(spawn)

    async def _start_remote(
        self,
        record: StoredRun,
        spec: LaunchSpec,
        writer: LogWriter,
        resources: dict[str, float],
    ) -> None:
        """Hand a remote run's agent to its executor; return once the engine holds it."""
        job = link.AgentJob(
            run_id=record.id,
            url=self._agent_endpoint(record.id),
            credential="",  # made by the run, stored only hashed
            argv=spec.argv,
            cwd=str(spec.cwd),
            env=spec.env,
            tty=spec.tty,
            cancel_grace_seconds=self.config.timings.cancel_grace_seconds,
            drain_timeout_seconds=self.config.timings.drain_timeout_seconds,
            lost_timeout_seconds=self.config.agent_lost_timeout_seconds,
        )
        remote = self._remote_run(record, job, writer, resources)
        self._live[record.id] = remote
        remote.feed.publish_status(record)
        await asyncio.shield(self._spawn(remote.start()))

    def _executor(self, request: RunRequest) -> Executor:
        name = request.executor or self.config.default_executor
        executor = self.config.executors.get(name)
        if executor is None:
            # Not repeated back (client text); the names this server knows are listed.
            known = ", ".join(sorted(self.config.executors))
            raise InvalidRequest(f"Unknown 'executor'; this server offers {known}.")
        try:
            executor.check(request.resources)
        except ExecutorUnavailable as exc:
            raise InvalidRequest(str(exc)) from None
        return executor

    def _agent_endpoint(self, run_id: str) -> str:
        base = self.config.agent_url
        if base.startswith("https://"):
            base = "wss://" + base[len("https://") :]
        elif base.startswith("http://"):
            base = "ws://" + base[len("http://") :]
        return base.rstrip("/") + "/" + link.AGENT_PATH.format(run_id=run_id)

    def _remote_run(
        self,
        record: StoredRun,
        job: link.AgentJob | None,
        writer: LogWriter,
        resources: dict[str, float],
    ) -> RemoteRun:
        return RemoteRun(
            record,
            job,
            executor=self.config.executors[record.executor],
            resources=resources,
            lost_timeout_seconds=self.config.agent_lost_timeout_seconds,
            records=self.storage.records,
            writer=writer,
            feed=OutputFeed(self.storage.reader(record.id)),
            timings=self.config.timings,
            on_end=self._on_run_end,
        )

    def _check_capacity(self) -> None:
        if len(self._running) >= self.config.max_concurrent_runs and (
            len(self._queue) >= self.config.max_queued_runs
        ):
            raise TooManyRuns(
                f"Too many runs: {len(self._running)} running and {len(self._queue)} queued "
                f"(max_queued_runs = {self.config.max_queued_runs})."
            )
        if self.storage.free_bytes() < MIN_FREE_BYTES:
            raise StorageFull(_FULL)

    def _store_new(self, record: StoredRun) -> LogWriter:
        """Insert the record and open its log files; raise :class:`StorageFull` if impossible."""
        try:
            self.storage.records.insert(record, self.owners.owner)
            return self.storage.writer(record.id)
        except (OSError, sqlite3.Error) as exc:
            log.error("Could not store a new run: %s", exc)
            with contextlib.suppress(OSError, sqlite3.Error):
                self.storage.delete(record.id)
            if _is_full(exc):
                raise StorageFull(_FULL) from None
            raise StorageUnavailable(_UNWRITABLE) from None

    def cancel(self, run_id: str) -> RunRecord:
        """Cancel a queued or running run and return its record; repeating it is harmless.

        A run of another server is cancelled through storage: its owner sees the request
        within :data:`TICK_SECONDS`. Raises :class:`RunNotFound`, or :class:`RunConflict`
        once the run has ended.
        """
        live = self._live.get(run_id)
        if live is not None:
            self._cancel_live(live)
            return live.record.to_record()
        run = self._stored(run_id)
        try:
            requested = not run.status.terminal and self.storage.records.request_cancel(run_id)
        except sqlite3.Error:
            raise StorageUnavailable(_UNWRITABLE) from None
        if not requested:
            raise RunConflict(f"Run {run_id} has already {run.status}.", run.to_record())
        run.cancel_requested = True
        return run.to_record()

    def _cancel_live(self, run: ActiveRun) -> None:
        with contextlib.suppress(ValueError):
            self._queue.remove(run)
        run.cancel()

    def send_input(self, run_id: str, data: str) -> None:
        """Type ``data`` into a terminal-mode run (CONTRACT §3 ``stdin``).

        Raises :class:`NotATty`, :class:`RunConflict` (ended, or run by another server),
        :class:`InputRefused` (the program does not read), :class:`RunNotFound`.
        """
        self._terminal_run(run_id).write_input(data.encode("utf-8", "replace"))

    def resize(self, run_id: str, cols: int, rows: int) -> None:
        """Set a terminal-mode run's terminal size (CONTRACT §3 ``resize``); errors as above."""
        self._terminal_run(run_id).resize(cols, rows)

    def _terminal_run(self, run_id: str) -> ActiveRun:
        live = self._live.get(run_id)
        if live is not None:
            return live
        run = self._stored(run_id)
        if not run.tty:
            raise NotATty("The run is not in terminal mode.")
        where = "has ended" if run.status.terminal else "runs on another server"
        raise RunConflict(f"The run {where}: it takes no input here.", run.to_record())

    def delete(self, run_id: str) -> None:
        """Forget a finished run and its output; raise :class:`RunConflict` while it is active.

        Works on a full disk: deleting is how a user frees space (CONTRACT §1.2).
        """
        run = self._stored(run_id)
        if not run.status.terminal:
            raise RunConflict(
                f"Run {run_id} is {run.status}; cancel it before deleting.", run.to_record()
            )
        self.storage.delete(run_id)
        self._feeds.deleted(run_id)

    async def shutdown(self) -> None:
        """Cancel this server's runs (``server_shutdown``) and wait until their processes are gone.

        Returns within ``cancel_grace_seconds + drain_timeout_seconds + 2`` s, whatever state
        storage or a run is in.
        """
        self.shutting_down = True
        # Remote runs go on without this server: their agents reconnect to the next one.
        active = [run for run in self._live.values() if run.local]
        for run in self._live.values():
            if isinstance(run, RemoteRun):
                run.suspend()
        while self._queue:
            run = self._queue.popleft()
            run.cancel(EndReason.SERVER_SHUTDOWN)
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
        for executor in self.config.executors.values():
            with contextlib.suppress(Exception):
                await executor.close()
        # A last try for records a full disk kept from being saved: else the next start
        # would take those runs for lost.
        self._unsaved = {run for run in self._unsaved if not run.save()}
        self._feeds.close()
        self.storage.close()
        self.owners.release()

    # -- internals -------------------------------------------------------------------------

    def _resolve_cwd(self, cwd: str) -> tuple[Path, str]:
        root = self.config.root_dir.resolve()
        path = (root / cwd).resolve()
        if not path.is_relative_to(root):
            raise InvalidRequest("'cwd' is outside the server's root directory.")
        if not path.is_dir():
            raise InvalidRequest("'cwd' is not an existing directory.")
        label = path.relative_to(root).as_posix()
        return path, "" if label == "." else label

    def _start_next(self) -> dict[str, asyncio.Task[None]]:
        """Start queued runs while slots are free; return their spawn tasks by run id."""
        started: dict[str, asyncio.Task[None]] = {}
        while self._queue and len(self._running) < self.config.max_concurrent_runs:
            run = self._queue.popleft()
            self._running.add(run.record.id)
            started[run.record.id] = self._spawn(run.start())
        return started

    def _spawn(self, coroutine: Coroutine[object, object, None]) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _on_run_end(self, run: ActiveRun) -> None:
        # The slot is released whatever happened to storage (CONTRACT §1.2).
        self._running.discard(run.record.id)
        self._live.pop(run.record.id, None)
        self._feeds.adopt(run.record.id, run.feed)  # its viewers must hear of a delete
        if run.unsaved:
            self._unsaved.add(run)
        if not self.shutting_down:
            self._start_next()


# CONTRACT §1.1: no pager waits for a keypress in a run nobody may be watching.
_TTY_ENV = {"PAGER": "cat", "GIT_PAGER": "cat", "TERM": "xterm-256color"}

_FULL = "The server's data dir is full: free space (delete finished runs) and try again."
_UNWRITABLE = "The server cannot write to its data dir right now; try again."


def _is_full(exc: BaseException) -> bool:
    if isinstance(exc, OSError):
        return exc.errno in (errno.ENOSPC, errno.EDQUOT)
    return "full" in str(exc)  # sqlite3: "database or disk is full" (SQLITE_FULL)


async def _log_blocks(
    feed: OutputFeed, stream: Stream | None, follow: bool
) -> AsyncIterator[bytes]:
    position = 0
    while True:
        changed = feed.changed()
        ended = feed.ended
        for position, block in feed.reader.iter_raw(stream, position):  # noqa: B007, B020
            yield block
        if feed.deleted:
            raise OutputGone(feed.reader.run_id)
        if ended or not follow:
            return
        await changed.wait()
