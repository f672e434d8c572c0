"""The agent: runs one run's command on a worker and keeps the server's copy exact.

It numbers the output where the pipes are read, keeps every chunk until the server has
stored it, resends what the server lacks after a reconnect, and stops reading the pipes
while too much is unacknowledged (``link.py`` states the rules). The process side is the
same :class:`~nebula_jupyter.process.child.ChildProcess` that local runs use.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import enum
import logging
import os
import secrets
import signal
import socket
import time
from pathlib import Path

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from .. import link
from ..link import AgentJob, AgentState, ExitState
from ..process.child import ChildProcess, LaunchSpec, RunTimings, exit_fields
from ..process.terminal import InputFull
from ..protocol import WORKER_ENV, ProtocolError, Stream

log = logging.getLogger(__name__)

#: Reconnect back-off: first delay and cap, in seconds.
RETRY_FIRST_SECONDS = 0.1
RETRY_MAX_SECONDS = 2.0
#: After the worker is lost, how long the agent tries to deliver what it still holds.
LOST_FLUSH_SECONDS = 5.0


class Outcome(enum.IntEnum):
    """The agent process's exit status."""

    DONE = 0  # the server stored the run's end
    BAD_JOB = 2  # the job on stdin could not be read
    REFUSED = 3  # the server refused this agent (another one has the run, or it ended)
    UNREACHABLE = 4  # the server was unreachable for lost_timeout_seconds: the tree was killed
    WORKER_LOST = 5  # the worker that started the agent died: the tree was killed


class Refused(Exception):
    """The server will not take output for this run from this agent."""


class Agent:
    """One run's agent; :meth:`run` returns when the run is over for it."""

    def __init__(self, job: AgentJob, *, worker: str | None = None) -> None:
        self.job = job
        self.agent_id = secrets.token_hex(8)
        self.worker = worker
        timings = RunTimings(job.cancel_grace_seconds, job.drain_timeout_seconds)
        self._child = ChildProcess(job.run_id, self, timings)
        self._seq = 0
        self._unacked: collections.deque[tuple[int, bytes]] = collections.deque()
        self._unacked_bytes = 0
        self._paused = False
        self._started = False
        self._exit: ExitState | None = None
        self._lost = False
        self._outbox: asyncio.Queue[bytes | str] | None = None
        self._done = asyncio.Event()
        self._cancelling = False

    # -- the connection loop ---------------------------------------------------------------

    async def run(self) -> Outcome:
        """Dial the server until the run's end is stored; return how the agent ended.

        Only time without a connection counts towards ``lost_timeout_seconds``.
        """
        delay = RETRY_FIRST_SECONDS
        last_contact = time.monotonic()
        while True:
            try:
                async with connect(
                    self.job.url,
                    additional_headers={"Authorization": f"Bearer {self.job.credential}"},
                    max_size=link.MAX_OUTPUT_FRAME_BYTES,
                    open_timeout=10,
                    ping_interval=5,
                    ping_timeout=20,
                ) as connection:
                    delay = RETRY_FIRST_SECONDS
                    try:
                        await self._serve(connection)
                    finally:
                        last_contact = time.monotonic()
            except Refused:
                log.warning("run %s refused by the server: not running it", self.job.run_id)
                self._kill_tree()
                return Outcome.REFUSED
            except (OSError, TimeoutError, ConnectionClosed, InvalidStatus, ProtocolError) as exc:
                if isinstance(exc, InvalidStatus) and exc.response.status_code in (401, 403, 404):
                    # The credential expired with the run, or the run is gone.
                    log.warning(
                        "run %s refused by the server (HTTP %d)",
                        self.job.run_id,
                        exc.response.status_code,
                    )
                    self._kill_tree()
                    return Outcome.REFUSED
                log.info("Agent of run %s: connection lost (%s)", self.job.run_id, exc)
            if self._done.is_set():
                return Outcome.WORKER_LOST if self._lost else Outcome.DONE
            waited = time.monotonic() - last_contact
            limit = LOST_FLUSH_SECONDS if self._lost else self.job.lost_timeout_seconds
            if waited > limit:
                self._kill_tree()
                return Outcome.WORKER_LOST if self._lost else Outcome.UNREACHABLE
            await asyncio.sleep(delay)
            delay = min(delay * 2, RETRY_MAX_SECONDS)

    async def _serve(self, connection: ClientConnection) -> None:
        await connection.send(link.encode(self._state()))
        try:
            first = await connection.recv()
        except ConnectionClosed as exc:
            if exc.rcvd is not None and exc.rcvd.code == link.CLOSE_REFUSED:
                raise Refused from None
            raise
        welcome = link.parse_server_message(first)
        if not isinstance(welcome, link.Welcome):
            raise ProtocolError("The server did not answer with 'welcome'.")
        self._forget_up_to(welcome.stored_seq)
        outbox: asyncio.Queue[bytes | str] = asyncio.Queue()
        self._outbox = outbox
        for _, frame in self._unacked:
            outbox.put_nowait(frame)
        sender = asyncio.create_task(self._send_all(connection, outbox))
        try:
            if not self._started and self._exit is None:
                await self._start()
            if welcome.cancel:
                self._cancel()
            async for message in connection:
                if isinstance(message, bytes):
                    raise ProtocolError("The server sent a binary frame.")
                if self._handle(link.parse_server_message(message)):
                    return
        except ConnectionClosed as exc:
            if exc.rcvd is not None and exc.rcvd.code == link.CLOSE_REFUSED:
                raise Refused from None
            raise
        finally:
            self._outbox = None
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError, ConnectionClosed):
                await sender
        if connection.close_code == link.CLOSE_REFUSED:
            raise Refused

    async def _send_all(
        self, connection: ClientConnection, outbox: asyncio.Queue[bytes | str]
    ) -> None:
        while True:
            await connection.send(await outbox.get())

    def _handle(self, message: link.ServerToAgent) -> bool:
        """Act on one server message; return True once the run's end is stored."""
        if isinstance(message, link.Ack):
            self._forget_up_to(message.seq)
        elif isinstance(message, link.Cancel):
            self._cancel()
        elif isinstance(message, link.Input):
            terminal = self._child.terminal
            if terminal is not None:
                with contextlib.suppress(InputFull):
                    terminal.write(message.data.encode("utf-8", "replace"))
        elif isinstance(message, link.Resize):
            self._child.resize(message.cols, message.rows)
        elif isinstance(message, link.Done):
            # The server has ended the run (worker declared lost, say): nothing of it may
            # keep running here.
            if self._exit is None:
                self._kill_tree()
            self._done.set()
            return True
        return False

    # -- the process -----------------------------------------------------------------------

    async def _start(self) -> None:
        job = self.job
        # The worker's environment (already scrubbed of secrets by the task), then the run's.
        env = {**os.environ, **job.env}
        if self.worker:
            env[WORKER_ENV] = self.worker
        spec = LaunchSpec(argv=job.argv, cwd=Path(job.cwd), env=env, tty=job.tty)
        where = self.worker or socket.gethostname()
        if not spec.cwd.is_dir():
            # The usual cause: no shared file system between the server and this worker.
            self._spawn_failed(f"the folder {job.cwd} does not exist on worker {where}")
            return
        try:
            await self._child.start(spec)
        except Exception as exc:
            message = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            filename = getattr(exc, "filename", None)
            self._spawn_failed(f"{message}: {filename}" if filename else message)

    def _spawn_failed(self, error: str) -> None:
        self._exit = ExitState(None, None, self._seq, error=error)
        self._send_state()

    def _cancel(self) -> None:
        if self._started and self._exit is None and not self._cancelling:
            self._cancelling = True
            self._child.terminate()

    def worker_lost(self) -> None:
        """The worker that started this agent died: kill the run's tree and say so."""
        if self._lost:
            return
        self._lost = True
        self._kill_tree()
        self._send_state()

    def _kill_tree(self) -> None:
        if self._started:
            self._child.signal_tree(signal.SIGKILL)

    # -- ChildEvents -----------------------------------------------------------------------

    def child_started(self, pid: int) -> None:
        """The command runs: tell the server (``running``, host, worker)."""
        self._started = True
        self._send_state()

    def child_output(self, stream: Stream, data: bytes) -> None:
        """Number a chunk, keep it until acknowledged, send it."""
        self._seq += 1
        frame = link.output_frame(self._seq, stream, data)
        self._unacked.append((self._seq, frame))
        self._unacked_bytes += len(frame)
        if self._outbox is not None:
            self._outbox.put_nowait(frame)
        if self._unacked_bytes > link.MAX_UNACKED_BYTES and not self._paused:
            self._paused = True
            self._child.pause_reading()

    def child_exited(self, returncode: int | None) -> None:
        """The command ended and its output is complete: tell the server."""
        exit_code, signal_name = exit_fields(returncode)
        self._exit = ExitState(exit_code, signal_name, self._seq)
        self._send_state()

    def _forget_up_to(self, seq: int) -> None:
        while self._unacked and self._unacked[0][0] <= seq:
            self._unacked_bytes -= len(self._unacked.popleft()[1])
        if self._paused and self._unacked_bytes <= link.MAX_UNACKED_BYTES // 2:
            self._paused = False
            self._child.resume_reading()

    def _state(self) -> AgentState:
        return AgentState(
            agent_id=self.agent_id,
            started=self._started,
            pid=self._child.pid,
            host=socket.gethostname(),
            worker=self.worker,
            exit=self._exit,
            lost=self._lost,
        )

    def _send_state(self) -> None:
        if self._outbox is not None:
            self._outbox.put_nowait(link.encode(self._state()))

    def close(self) -> None:
        """Release the process's descriptors (and kill what is left of its tree)."""
        self._child.close()
