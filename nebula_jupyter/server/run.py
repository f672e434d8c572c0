"""One run: a child process in its own session and process group, its pipes, its cancel ladder.

Status changes go through :meth:`StoredRun.move_to` (``records.py`` holds the table). A run
stays ``queued`` until its process exists: ``running`` is announced from the spawn callback,
before any output, so a spawn error goes straight from ``queued`` to ``failed``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import signal
import socket
import sqlite3
import subprocess
from collections.abc import Callable
from pathlib import Path

from ..protocol import EndReason, RunStatus, Stream
from .database import RecordStore
from .errors import InputRefused, NotATty, RunConflict
from .fanout import OutputFeed
from .logs import Chunk, LogWriter
from .processes import signal_group, signal_stragglers
from .records import StoredRun
from .terminal import DEFAULT_COLS, DEFAULT_ROWS, InputFull, Terminal

log = logging.getLogger(__name__)

#: Where local runs run (the record's ``host``).
_HOST = socket.gethostname()


@dataclasses.dataclass(frozen=True)
class LaunchSpec:
    """How to start the process: the argv, an absolute cwd and the complete environment."""

    argv: list[str]
    cwd: Path
    env: dict[str, str]
    tty: bool = False


@dataclasses.dataclass(frozen=True)
class RunTimings:
    """The deadlines of the cancel ladder and of the end-of-run drain."""

    cancel_grace_seconds: float = 5.0
    drain_timeout_seconds: float = 5.0


def utf8_boundary(data: bytes) -> int:
    """Return the length of the longest prefix of ``data`` that does not end inside a character."""
    size = len(data)
    for back in range(1, min(4, size) + 1):
        byte = data[size - back]
        if byte < 0x80:
            return size
        if byte >= 0xC0:
            needed = 2 if byte < 0xE0 else 3 if byte < 0xF0 else 4 if byte < 0xF8 else 1
            return size - back if back < needed else size
    return size


class _PipeProtocol(asyncio.SubprocessProtocol):
    """Forward the child's pipe events to its :class:`RunProcess` without any buffering of ours."""

    def __init__(self, run: RunProcess) -> None:
        self._run = run

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # Called before subprocess_exec returns, and a quick child may already have exited.
        assert isinstance(transport, asyncio.SubprocessTransport)
        self._run._on_spawned(transport)

    def pipe_data_received(self, fd: int, data: bytes) -> None:
        self._run._on_output(Stream(fd), data)

    def pipe_connection_lost(self, fd: int, exc: Exception | None) -> None:
        self._run._on_pipe_closed(Stream(fd))

    def process_exited(self) -> None:
        self._run._on_exit()


class RunProcess:
    """A run's process, output and status; every transition is stored, then announced."""

    def __init__(
        self,
        record: StoredRun,
        *,
        records: RecordStore,
        writer: LogWriter | None,
        feed: OutputFeed,
        timings: RunTimings,
        on_end: Callable[[RunProcess], None] = lambda run: None,
    ) -> None:
        self.record = record
        self.feed = feed
        self._records = records
        self._writer = writer
        self._timings = timings
        self._on_end = on_end
        self._transport: asyncio.SubprocessTransport | None = None
        self._carry: dict[Stream, bytes] = {Stream.STDOUT: b"", Stream.STDERR: b""}
        self._open_pipes: set[Stream] = set()
        self._exited = False
        self._cancel_reason = EndReason.CANCELLED
        self._timers: list[asyncio.TimerHandle] = []
        self._starting = False
        self._terminal: Terminal | None = None
        self._size = (DEFAULT_COLS, DEFAULT_ROWS)
        self._scans: set[asyncio.Future[int]] = set()
        self.unsaved = False
        self.ended = asyncio.Event()
        if record.status.terminal:
            self.ended.set()

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self, spec: LaunchSpec) -> None:
        """Spawn the process in a new session; a spawn error ends the run as failed.

        Returns once the process exists (it is then ``running``) or the spawn failed.
        """
        if self.record.status.terminal:
            return
        self._starting = True
        terminal: Terminal | None = None
        try:
            if spec.tty:
                terminal = Terminal(*self._size)
            await self._spawn(spec, terminal)
            if terminal is not None:
                self._terminal = terminal
                await terminal.attach(
                    lambda data: self._on_output(Stream.STDOUT, data),
                    lambda: self._on_pipe_closed(Stream.STDOUT),
                )
        except Exception as exc:
            if terminal is not None:
                terminal.close()
            self._end_spawn_error(exc)
            return
        finally:
            self._starting = False
        if self.record.cancel_requested and not self.record.status.terminal:
            self._terminate_group()

    async def _spawn(self, spec: LaunchSpec, terminal: Terminal | None) -> None:
        stdio = subprocess.DEVNULL if terminal is None else terminal.child_fd
        await asyncio.get_running_loop().subprocess_exec(
            lambda: _PipeProtocol(self),
            *spec.argv,
            stdin=stdio,
            stdout=subprocess.PIPE if terminal is None else stdio,
            stderr=subprocess.PIPE,
            cwd=spec.cwd,
            env=spec.env,
            start_new_session=True,
            # Only an ioctl, after setsid: the pty becomes the session's controlling terminal,
            # so Ctrl-C typed by a viewer interrupts the program as in a terminal.
            preexec_fn=None if terminal is None else Terminal.make_controlling,
        )

    def write_input(self, data: bytes) -> None:
        """Type ``data`` into a terminal-mode run; raise NotATty, RunConflict or InputRefused."""
        terminal = self._live_terminal()
        try:
            terminal.write(data)
        except InputFull as exc:
            raise InputRefused(str(exc)) from None

    def resize(self, cols: int, rows: int) -> None:
        """Resize a terminal-mode run's terminal (the latest size wins, also before the start)."""
        if self.record.tty and not self.record.status.terminal and self._terminal is None:
            self._size = (cols, rows)  # the terminal opens at this size
            return
        self._live_terminal().resize(cols, rows)

    def _live_terminal(self) -> Terminal:
        if not self.record.tty:
            raise NotATty('The run is not in terminal mode (create it with "tty": true).')
        if self.record.status.terminal or self._terminal is None:
            state = "has ended" if self.record.status.terminal else "has not started yet"
            raise RunConflict(f"The run {state}.", self.record.to_record())
        return self._terminal

    def cancel(self, reason: EndReason = EndReason.CANCELLED) -> None:
        """Accept a cancel: announce it now, then SIGTERM the group and SIGKILL after grace."""
        if self.record.status.terminal:
            raise RunConflict(
                f"Run {self.record.id} has already {self.record.status}.", self.record.to_record()
            )
        if self.record.cancel_requested:
            return
        self.record.cancel_requested = True
        self._cancel_reason = reason
        if self.record.status is RunStatus.QUEUED and not self._starting:
            self._end(RunStatus.CANCELLED, reason)
            return
        self._save_and_announce()
        if self._transport is not None:
            self._terminate_group()

    # -- process events --------------------------------------------------------------------

    def _on_spawned(self, transport: asyncio.SubprocessTransport) -> None:
        # The first callback of a new process, before any of its output.
        self._transport = transport
        self._open_pipes = {Stream.STDOUT, Stream.STDERR}
        self.record.pid = transport.get_pid()
        self.record.host = _HOST
        self.record.move_to(RunStatus.RUNNING)
        self._save_and_announce()

    def _on_output(self, stream: Stream, data: bytes) -> None:
        if stream is Stream.STDERR and self._terminal is not None:
            # Seqs follow the order of reading: stdout read before this stderr goes first.
            self._terminal.flush()
        carry = self._carry[stream]
        if carry:
            data = carry + data
        cut = utf8_boundary(data)
        self._carry[stream] = data[cut:]
        if cut:
            self._store(stream, data[:cut] if cut < len(data) else data)

    def _store(self, stream: Stream, data: bytes) -> None:
        if self._writer is None:
            return
        try:
            seq = self._writer.append(stream, data)
        except OSError as exc:
            self._lose(data, exc)
            return
        record = self.record
        if stream is Stream.STDOUT:
            record.stdout_bytes += len(data)
        else:
            record.stderr_bytes += len(data)
        record.last_seq = seq
        self.feed.publish_output(Chunk(seq, stream, data))

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

    def _on_pipe_closed(self, stream: Stream) -> None:
        if self._carry[stream]:
            self._store(stream, self._carry[stream])
            self._carry[stream] = b""
        self._open_pipes.discard(stream)
        self._maybe_end()

    def _on_exit(self) -> None:
        self._exited = True
        if self._open_pipes:
            # A descendant that left the group's fate may still hold a pipe: stop waiting
            # for it after the drain timeout rather than hanging the run forever.
            self._later(self._timings.drain_timeout_seconds, self._drain_expired)
        self._maybe_end()

    def _drain_expired(self) -> None:
        if self._terminal is not None:
            self._terminal.flush()
        for stream in list(self._open_pipes):
            self._on_pipe_closed(stream)

    def _maybe_end(self) -> None:
        if not self._exited or self._open_pipes or self.record.status.terminal:
            return
        assert self._transport is not None
        returncode = self._transport.get_returncode()
        if returncode is not None and returncode < 0:
            self.record.signal = _signal_name(-returncode)
        else:
            self.record.exit_code = returncode
        if not self.record.cancel_requested and self._cancel_asked_elsewhere():
            self.record.cancel_requested = True
        if self.record.cancel_requested:
            self._end(RunStatus.CANCELLED, self._cancel_reason)
        elif returncode == 0:
            self._end(RunStatus.SUCCEEDED, EndReason.EXITED)
        elif returncode is not None and returncode < 0:
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

    def _end_spawn_error(self, exc: BaseException) -> None:
        message = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        filename = getattr(exc, "filename", None)
        if filename:
            message = f"{message}: {filename}"
        error = f"Could not start: {message}"
        if self.record.cancel_requested:
            self._end(RunStatus.CANCELLED, self._cancel_reason, error=error)
        else:
            self._end(RunStatus.FAILED, EndReason.SPAWN_ERROR, error=error)

    def _end(self, status: RunStatus, reason: EndReason, error: str | None = None) -> None:
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()
        if self._transport is not None:
            # As CI runners do: nothing the run left behind outlives it (CONTRACT §1 Cleanup).
            self._signal_group(signal.SIGKILL)
            self._transport.close()
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        if self._terminal is not None:
            self._terminal.close()
        self.record.move_to(status)
        self.record.reason = reason
        if error is not None or not self.record.unstored_bytes:
            self.record.error = error
        self._save_and_announce()
        self.ended.set()
        self._on_end(self)

    # -- helpers ---------------------------------------------------------------------------

    def _terminate_group(self) -> None:
        self._signal_group(signal.SIGTERM)
        self._later(self._timings.cancel_grace_seconds, self._kill_group)

    def _kill_group(self) -> None:
        self._signal_group(signal.SIGKILL)

    def _signal_group(self, signum: signal.Signals) -> None:
        # The group at once; the descendants that left it (by session or by marker) from a
        # thread, since finding them reads /proc, which takes milliseconds per hundred
        # processes on a busy machine.
        if self.record.pid is None:
            return
        signal_group(self.record.pid, signum)
        scan = asyncio.get_running_loop().run_in_executor(
            None, signal_stragglers, self.record.id, self.record.pid, signum
        )
        self._scans.add(scan)
        scan.add_done_callback(self._scans.discard)

    def _later(self, delay: float, callback: Callable[[], None]) -> None:
        self._timers.append(asyncio.get_running_loop().call_later(delay, callback))

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


def _signal_name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"SIG{signum}"
