"""One command as a run runs it: its own session, separate pipes or a pty, whole characters.

:class:`ChildProcess` owns the operating-system side of a run and nothing else: it spawns the
process, hands over output in pieces that never end inside a UTF-8 character, reports the
exit once both streams are drained, and runs the cancel ladder on the whole process tree.
What the output and the exit mean (seq, storage, status) is its owner's business: the
server's local run, or the agent on a remote worker.
"""

from __future__ import annotations

import asyncio
import dataclasses
import signal
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from ..protocol import Stream
from .terminal import DEFAULT_COLS, DEFAULT_ROWS, Terminal
from .tree import signal_group, signal_stragglers


@dataclasses.dataclass(frozen=True)
class LaunchSpec:
    """How to start the process: the argv, an absolute cwd and the complete environment."""

    argv: list[str]
    cwd: Path
    env: dict[str, str]
    tty: bool = False


@dataclasses.dataclass(frozen=True)
class RunTimings:
    """The deadlines of the cancel ladder and of the end-of-run drain, in seconds."""

    cancel_grace_seconds: float = 5.0
    drain_timeout_seconds: float = 5.0


class ChildEvents(Protocol):
    """What a :class:`ChildProcess` reports, in this order: started, output..., exited."""

    def child_started(self, pid: int) -> None:
        """The process exists (called before any of its output)."""

    def child_output(self, stream: Stream, data: bytes) -> None:
        """Output that never ends inside a UTF-8 character (except at the very end)."""

    def child_exited(self, returncode: int | None) -> None:
        """The main process exited and both streams are drained (or the drain timed out).

        ``returncode`` is negative (``-N``) when signal N ended the process.
        """


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


def exit_fields(returncode: int | None) -> tuple[int | None, str | None]:
    """Split a return code into the record's ``(exit_code, signal)`` (CONTRACT §1 record)."""
    if returncode is not None and returncode < 0:
        try:
            return None, signal.Signals(-returncode).name
        except ValueError:
            return None, f"SIG{-returncode}"
    return returncode, None


class _PipeProtocol(asyncio.SubprocessProtocol):
    """Forward the child's pipe events to its :class:`ChildProcess` without buffering of ours."""

    def __init__(self, child: ChildProcess) -> None:
        self._child = child

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # Called before subprocess_exec returns, and a quick child may already have exited.
        assert isinstance(transport, asyncio.SubprocessTransport)
        self._child._on_spawned(transport)

    def pipe_data_received(self, fd: int, data: bytes) -> None:
        self._child._on_output(Stream(fd), data)

    def pipe_connection_lost(self, fd: int, exc: Exception | None) -> None:
        self._child._on_pipe_closed(Stream(fd))

    def process_exited(self) -> None:
        self._child._on_exit()


class ChildProcess:
    """A run's process tree on this machine; ``run_id`` is its ``NEBULA_RUN_ID`` marker."""

    def __init__(self, run_id: str, events: ChildEvents, timings: RunTimings) -> None:
        self.run_id = run_id
        self.pid: int | None = None
        self._events = events
        self._timings = timings
        self._transport: asyncio.SubprocessTransport | None = None
        self._terminal: Terminal | None = None
        self._size = (DEFAULT_COLS, DEFAULT_ROWS)
        self._carry: dict[Stream, bytes] = {Stream.STDOUT: b"", Stream.STDERR: b""}
        self._open_pipes: set[Stream] = set()
        self._exited = False
        self._reported = False
        self._timers: list[asyncio.TimerHandle] = []
        self._scans: set[asyncio.Future[int]] = set()

    @property
    def terminal(self) -> Terminal | None:
        """The pty of a terminal-mode process once it runs, else None."""
        return self._terminal

    async def start(self, spec: LaunchSpec) -> None:
        """Spawn the process in a new session; raise OSError (or ValueError) if it cannot start.

        ``child_started`` has been called when this returns.
        """
        terminal = Terminal(*self._size) if spec.tty else None
        try:
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
                # Only an ioctl, after setsid: the pty becomes the session's controlling
                # terminal, so Ctrl-C typed by a viewer interrupts the program as in a terminal.
                preexec_fn=None if terminal is None else Terminal.make_controlling,
            )
            if terminal is not None:
                self._terminal = terminal
                await terminal.attach(
                    lambda data: self._on_output(Stream.STDOUT, data),
                    lambda: self._on_pipe_closed(Stream.STDOUT),
                )
        except BaseException:
            if terminal is not None:
                terminal.close()
            raise

    def resize(self, cols: int, rows: int) -> None:
        """Set the terminal size (remembered until the pty exists)."""
        self._size = (cols, rows)
        if self._terminal is not None:
            self._terminal.resize(cols, rows)

    def pause_reading(self) -> None:
        """Stop reading output: the program blocks in ``write`` once the pipes fill up."""
        self._reading(pause=True)

    def resume_reading(self) -> None:
        """Read output again after :meth:`pause_reading`."""
        self._reading(pause=False)

    def _reading(self, *, pause: bool) -> None:
        transports: list[asyncio.BaseTransport | None] = []
        if self._transport is not None:
            transports += [self._transport.get_pipe_transport(fd) for fd in (1, 2)]
        if self._terminal is not None:
            transports.append(self._terminal.reader)
        for transport in transports:
            if isinstance(transport, asyncio.ReadTransport) and not transport.is_closing():
                if pause:
                    transport.pause_reading()
                else:
                    transport.resume_reading()

    def terminate(self) -> None:
        """SIGTERM the whole tree now and SIGKILL it after the grace (CONTRACT §4)."""
        self.signal_tree(signal.SIGTERM)
        self._later(self._timings.cancel_grace_seconds, lambda: self.signal_tree(signal.SIGKILL))

    def signal_tree(self, signum: signal.Signals) -> None:
        """Signal the group at once and the descendants that left it from a thread.

        Finding those reads /proc, which takes milliseconds per hundred processes on a busy
        machine: never on the event loop.
        """
        if self.pid is None:
            return
        signal_group(self.pid, signum)
        scan = asyncio.get_running_loop().run_in_executor(
            None, signal_stragglers, self.run_id, self.pid, signum
        )
        self._scans.add(scan)
        scan.add_done_callback(self._scans.discard)

    def close(self) -> None:
        """Kill what is left of the tree and release every descriptor (CONTRACT §1 Cleanup)."""
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()
        if self._transport is not None:
            self.signal_tree(signal.SIGKILL)
            self._transport.close()
        if self._terminal is not None:
            self._terminal.close()

    # -- process events --------------------------------------------------------------------

    def _on_spawned(self, transport: asyncio.SubprocessTransport) -> None:
        self._transport = transport
        self._open_pipes = {Stream.STDOUT, Stream.STDERR}
        self.pid = transport.get_pid()
        self._events.child_started(self.pid)

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
            self._events.child_output(stream, data[:cut] if cut < len(data) else data)

    def _on_pipe_closed(self, stream: Stream) -> None:
        if self._carry[stream]:
            self._events.child_output(stream, self._carry[stream])
            self._carry[stream] = b""
        self._open_pipes.discard(stream)
        self._maybe_report()

    def _on_exit(self) -> None:
        self._exited = True
        if self._open_pipes:
            # A descendant that left the group's fate may still hold a pipe: stop waiting
            # for it after the drain timeout rather than hanging the run forever.
            self._later(self._timings.drain_timeout_seconds, self._drain_expired)
        self._maybe_report()

    def _drain_expired(self) -> None:
        if self._terminal is not None:
            self._terminal.flush()
        for stream in list(self._open_pipes):
            self._on_pipe_closed(stream)

    def _maybe_report(self) -> None:
        if not self._exited or self._open_pipes or self._reported:
            return
        self._reported = True
        assert self._transport is not None
        self._events.child_exited(self._transport.get_returncode())

    def _later(self, delay: float, callback: Callable[[], None]) -> None:
        self._timers.append(asyncio.get_running_loop().call_later(delay, callback))
