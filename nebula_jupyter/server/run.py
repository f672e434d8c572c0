"""A run this server is responsible for: its record, its stored output, its status.

:class:`ActiveRun` is what the manager holds for every queued or running run of this server,
wherever its process executes: it stores output before announcing it, moves the status
through :meth:`StoredRun.move_to` (``records.py`` holds the table) and saves every change.
:class:`LocalRun` drives a child of this server (``process/child.py``); ``remote.py`` drives
a run whose process an executor's agent runs on another machine.

A local run stays ``queued`` until its process exists: ``running`` is announced from the spawn
callback, before any output, so a spawn error goes straight from ``queued`` to ``failed``.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import sqlite3
from collections.abc import Callable

from ..process.child import ChildProcess, LaunchSpec, RunTimings, exit_fields
from ..process.terminal import InputFull
from ..protocol import EndReason, RunStatus, Stream
from .database import RecordStore
from .errors import InputRefused, NotATty, RunConflict
from .fanout import OutputFeed
from .logs import Chunk, LogWriter
from .records import StoredRun

__all__ = ["ActiveRun", "LaunchSpec", "LocalRun", "RunTimings"]

log = logging.getLogger(__name__)

#: Where local runs run (the record's ``host``).
_HOST = socket.gethostname()


class ActiveRun:
    """A queued or running run of this server; every transition is stored, then announced."""

    def __init__(
        self,
        record: StoredRun,
        *,
        records: RecordStore,
        writer: LogWriter | None,
        feed: OutputFeed,
        timings: RunTimings,
        on_end: Callable[[ActiveRun], None] = lambda run: None,
    ) -> None:
        self.record = record
        self.feed = feed
        self._records = records
        self._writer = writer
        self._timings = timings
        self._on_end = on_end
        self._cancel_reason = EndReason.CANCELLED
        self.unsaved = False
        self.ended = asyncio.Event()
        if record.status.terminal:
            self.ended.set()

    @property
    def local(self) -> bool:
        """Say whether the process is a child of this server (it then takes a local slot)."""
        return True

    async def start(self) -> None:
        """Start the process (or hand it to an executor); errors end the run, never raise."""
        raise NotImplementedError

    def cancel(self, reason: EndReason = EndReason.CANCELLED) -> None:
        """Accept a cancel: announce it now; the process tree gets TERM, then KILL after grace.

        Raises :class:`RunConflict` once the run has ended; repeating a cancel is harmless.
        """
        if self.record.status.terminal:
            raise RunConflict(
                f"Run {self.record.id} has already {self.record.status}.", self.record.to_record()
            )
        if self.record.cancel_requested:
            return
        self.record.cancel_requested = True
        self._cancel_reason = reason
        self._cancel_accepted()

    def _cancel_accepted(self) -> None:
        raise NotImplementedError

    def write_input(self, data: bytes) -> None:
        """Type ``data`` into a terminal-mode run; raise NotATty, RunConflict or InputRefused."""
        raise NotATty('The run is not in terminal mode (create it with "tty": true).')

    def resize(self, cols: int, rows: int) -> None:
        """Resize a terminal-mode run's terminal (the latest size wins, also before the start)."""
        raise NotATty('The run is not in terminal mode (create it with "tty": true).')

    def _check_tty(self, *, started: bool) -> None:
        if not self.record.tty:
            raise NotATty('The run is not in terminal mode (create it with "tty": true).')
        if self.record.status.terminal or not started:
            state = "has ended" if self.record.status.terminal else "has not started yet"
            raise RunConflict(f"The run {state}.", self.record.to_record())

    # -- output and status -----------------------------------------------------------------

    def _store(self, stream: Stream, data: bytes) -> int | None:
        """Store a chunk, then announce it; return its seq, or None if it could not be stored."""
        if self._writer is None:
            return None
        try:
            seq = self._writer.append(stream, data)
        except OSError as exc:
            self._lose(data, exc)
            return None
        record = self.record
        if stream is Stream.STDOUT:
            record.stdout_bytes += len(data)
        else:
            record.stderr_bytes += len(data)
        record.last_seq = seq
        self.feed.publish_output(Chunk(seq, stream, data))
        return seq

    def _lose(self, data: bytes, exc: OSError) -> None:
        # CONTRACT §1.2 "Storage failures": keep draining the pipes (never block or kill the
        # run), count what could not be stored, and say why; what is stored stays consistent.
        first = not self.record.unstored_bytes
        self.record.unstored_bytes += len(data)
        if first:
            reason = exc.strerror or type(exc).__name__
            self.record.error = f"Output could not be stored ({reason}); see unstored_bytes."
            log.error("Run %s: output could not be stored: %s", self.record.id, reason)
            self._save_and_announce()

    def _started(self, host: str, pid: int | None) -> None:
        self.record.pid = pid
        self.record.host = host
        self.record.move_to(RunStatus.RUNNING)
        self._save_and_announce()

    def _exited(self, exit_code: int | None, signal_name: str | None) -> None:
        """End the run from how its main process ended (CONTRACT §1 statuses)."""
        if self.record.status.terminal:
            return
        self.record.exit_code, self.record.signal = exit_code, signal_name
        if not self.record.cancel_requested and self._cancel_asked_elsewhere():
            self.record.cancel_requested = True
        if self.record.cancel_requested:
            self._end(RunStatus.CANCELLED, self._cancel_reason)
        elif exit_code == 0:
            self._end(RunStatus.SUCCEEDED, EndReason.EXITED)
        elif signal_name is not None:
            self._end(RunStatus.FAILED, EndReason.SIGNALLED)
        else:
            self._end(RunStatus.FAILED, EndReason.EXITED)

    def _cancel_asked_elsewhere(self) -> bool:
        # Another server sharing the data dir may have accepted a cancel (202) that this one
        # has not picked up yet: that cancel decides the status (CONTRACT §1 "cancelled").
        try:
            return self._records.cancel_asked(self.record.id)
        except sqlite3.Error:
            return False

    def _end_spawn_error(self, message: str) -> None:
        error = f"Could not start: {message}"
        if self.record.cancel_requested:
            self._end(RunStatus.CANCELLED, self._cancel_reason, error=error)
        else:
            self._end(RunStatus.FAILED, EndReason.SPAWN_ERROR, error=error)

    def _end(self, status: RunStatus, reason: EndReason, error: str | None = None) -> None:
        self._release()
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        self.record.move_to(status)
        self.record.reason = reason
        if error is not None or not self.record.unstored_bytes:
            self.record.error = error
        self._save_and_announce()
        self.ended.set()
        self._on_end(self)

    def _release(self) -> None:
        """Free what the process held (called once, as the run ends)."""

    # -- storage ---------------------------------------------------------------------------

    def save(self) -> bool:
        """Store the record; on failure remember that it is ``unsaved`` and return False."""
        try:
            self._records.update(self.record)
        except sqlite3.Error as exc:
            # A full disk must not stop the status machine: viewers still get the status,
            # and the manager retries an ended run's save until it succeeds.
            if not self.unsaved:
                log.error("Run %s: the record could not be saved: %s", self.record.id, exc)
            self.unsaved = True
            return False
        self.unsaved = False
        return True

    def _save_and_announce(self) -> None:
        self.save()
        self.feed.publish_status(self.record)


class LocalRun(ActiveRun):
    """A run whose process is a child of this server."""

    def __init__(
        self,
        record: StoredRun,
        spec: LaunchSpec,
        *,
        records: RecordStore,
        writer: LogWriter | None,
        feed: OutputFeed,
        timings: RunTimings,
        on_end: Callable[[ActiveRun], None] = lambda run: None,
    ) -> None:
        super().__init__(
            record, records=records, writer=writer, feed=feed, timings=timings, on_end=on_end
        )
        self._spec = spec
        self._child = ChildProcess(record.id, self, timings)
        self._starting = False

    async def start(self) -> None:
        """Spawn the process in a new session; a spawn error ends the run as failed.

        Returns once the process exists (it is then ``running``) or the spawn failed.
        """
        if self.record.status.terminal:
            return
        self._starting = True
        try:
            await self._child.start(self._spec)
        except Exception as exc:
            self._end_spawn_error(_spawn_message(exc))
            return
        finally:
            self._starting = False
        if self.record.cancel_requested and not self.record.status.terminal:
            self._child.terminate()

    def _cancel_accepted(self) -> None:
        if self.record.status is RunStatus.QUEUED and not self._starting:
            self._end(RunStatus.CANCELLED, self._cancel_reason)
            return
        self._save_and_announce()
        if self._child.pid is not None:
            self._child.terminate()

    def write_input(self, data: bytes) -> None:
        """Type ``data`` into a terminal-mode run; raise NotATty, RunConflict or InputRefused."""
        self._check_tty(started=self._child.terminal is not None)
        assert self._child.terminal is not None
        try:
            self._child.terminal.write(data)
        except InputFull as exc:
            raise InputRefused(str(exc)) from None

    def resize(self, cols: int, rows: int) -> None:
        """Resize a terminal-mode run's terminal (the latest size wins, also before the start)."""
        started = self._child.terminal is not None
        self._check_tty(started=started or not self.record.status.terminal)
        self._child.resize(cols, rows)

    # -- ChildEvents -----------------------------------------------------------------------

    def child_started(self, pid: int) -> None:
        """The process exists: announce ``running`` before any of its output."""
        self._started(_HOST, pid)

    def child_output(self, stream: Stream, data: bytes) -> None:
        """Store and announce a piece of output."""
        self._store(stream, data)

    def child_exited(self, returncode: int | None) -> None:
        """End the run from the exit of its main process."""
        self._exited(*exit_fields(returncode))

    def _release(self) -> None:
        # As CI runners do: nothing the run left behind outlives it (CONTRACT §1 Cleanup).
        self._child.close()


def _spawn_message(exc: BaseException) -> str:
    message = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    filename = getattr(exc, "filename", None)
    return f"{message}: {filename}" if filename else message
