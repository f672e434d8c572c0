"""A run executed by an engine's agent on another machine (CONTRACT §7).

The server side of the agent link (``link.py``): the agent numbers the chunks, this run
stores chunk ``k`` only if it is the next one, announces it to viewers after storing it, and
acknowledges. Everything else a viewer sees (the feed, the statuses, storage) is the same as
for a local run, through :class:`~.run.ActiveRun`.

The run is ``queued`` until the agent says the command started. Then, while no agent is
connected, a timer of ``agent_lost_timeout_seconds`` runs; when it fires, or when the
engine says the worker is gone, or the agent says so itself, the run ends ``failed`` with
reason ``worker_lost`` (``cancelled`` if a cancel was accepted before).
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import hmac
import logging
import secrets
from collections.abc import Callable
from typing import Protocol

from ..link import Ack, AgentJob, AgentState, Cancel, Done, Input, Resize, Welcome, encode
from ..protocol import EndReason, RunStatus, Stream
from .database import RecordStore
from .errors import InputRefused
from .executors import Executor, ExecutorUnavailable
from .fanout import OutputFeed
from .logs import LogWriter
from .records import StoredRun
from .run import ActiveRun, RunTimings

log = logging.getLogger(__name__)


class AgentRefused(Exception):
    """This agent may not (or no longer) run the run: close the link with ``CLOSE_REFUSED``."""


class AgentLink(Protocol):
    """The server's end of one agent connection (a WebSocket in production)."""

    def send(self, message: str) -> None:
        """Queue a control message for the agent."""

    def refuse(self, reason: str) -> None:
        """Close the connection with ``link.CLOSE_REFUSED``."""


def credential_hash(credential: str) -> str:
    """Return the stored form of an agent credential (SHA-256, hex)."""
    return hashlib.sha256(credential.encode("utf-8", "surrogatepass")).hexdigest()


class RemoteRun(ActiveRun):
    """A run whose process an agent runs on a worker of ``executor``'s engine."""

    def __init__(
        self,
        record: StoredRun,
        job: AgentJob | None,
        *,
        executor: Executor,
        resources: dict[str, float],
        lost_timeout_seconds: float,
        records: RecordStore,
        writer: LogWriter | None,
        feed: OutputFeed,
        timings: RunTimings,
        on_end: Callable[[ActiveRun], None] = lambda run: None,
    ) -> None:
        super().__init__(
            record, records=records, writer=writer, feed=feed, timings=timings, on_end=on_end
        )
        self._job = job
        self._executor = executor
        self._resources = resources
        self._lost_timeout_seconds = lost_timeout_seconds
        self._link: AgentLink | None = None
        self._exit_seen: AgentState | None = None
        self._lost_timer: asyncio.TimerHandle | None = None
        self._ack_scheduled = False
        self._size: tuple[int, int] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._unstored_chunks = 0
        self._suspended = False

    @property
    def local(self) -> bool:
        """A remote run never takes a local slot."""
        return False

    async def start(self) -> None:
        """Make the run's credential and hand its agent to the engine.

        Returns once the engine holds the task; the run stays ``queued`` until the agent
        says the command started. If the engine refuses, the run fails (``spawn_error``).
        """
        if self.record.status.terminal or self._job is None:
            return
        credential = secrets.token_urlsafe(32)
        self.record.agent_credential_sha256 = credential_hash(credential)
        if not self.save():
            self._end_spawn_error("the run's agent credential could not be stored")
            return
        try:
            job = dataclasses.replace(self._job, credential=credential)
            await self._executor.submit(job, self._resources)
        except ExecutorUnavailable as exc:
            self._end_spawn_error(str(exc))
        except Exception as exc:
            # Whatever the engine raised, its text is neither shown nor logged: it may quote
            # the task, which holds the credential.
            log.error(
                "Run %s: the %s executor failed (%s)",
                self.record.id,
                self._executor.name,
                type(exc).__name__,
            )
            self._end_spawn_error(
                f"the {self._executor.name} executor failed ({type(exc).__name__})"
            )

    def resume(self) -> None:
        """After a server restart: wait for the agent of a run that had started."""
        if self.record.status is RunStatus.RUNNING:
            self._arm_lost_timer()

    # -- the agent link --------------------------------------------------------------------

    def verify(self, credential: str) -> bool:
        """Say whether ``credential`` is this run's agent credential (constant time)."""
        stored = self.record.agent_credential_sha256
        if stored is None or self.record.status.terminal:
            return False  # the credential expires with the run (CONTRACT §7)
        return hmac.compare_digest(credential_hash(credential), stored)

    def attach(self, link: AgentLink, state: AgentState) -> None:
        """Take an agent's first message on a new connection and welcome it.

        Raises :class:`AgentRefused` for a run that ended, or that another agent claimed
        first (Dask re-runs the task of a dead worker: the command must not run twice).
        """
        if self.record.status.terminal:
            raise AgentRefused("The run has ended.")
        # Only the run's owner welcomes its agent, so the claim needs no cross-server lock;
        # it is saved so that it survives a restart of the owner.
        if self.record.agent_id is None:
            self.record.agent_id = state.agent_id
            if not self.save():
                self.record.agent_id = None
                raise AgentRefused("The server cannot store the agent's claim.")
        elif not hmac.compare_digest(self.record.agent_id, state.agent_id):
            raise AgentRefused("Another agent runs this run.")
        if self.record.cancel_requested and not state.started:
            self._end(RunStatus.CANCELLED, self._cancel_reason)
            raise AgentRefused("The run was cancelled before it started.")
        if self._link is not None:
            self._link.refuse("A newer connection of the agent replaced this one.")
        self._link = link
        self._disarm_lost_timer()
        link.send(encode(Welcome(self._stored_seq(), cancel=self.record.cancel_requested)))
        if self._size is not None:
            link.send(encode(Resize(*self._size)))
        self.update(state)

    def detach(self, link: AgentLink) -> None:
        """The agent's connection closed: wait ``agent_lost_timeout_seconds`` for it."""
        if self._link is link:
            self._link = None
            if not self.record.status.terminal and not self._suspended:
                self._arm_lost_timer()

    def suspend(self) -> None:
        """This server stops: leave the run to the next one (its agent will reconnect there)."""
        self._suspended = True
        self._disarm_lost_timer()

    def update(self, state: AgentState) -> None:
        """Apply the agent's state: started, exited, or its worker lost."""
        if self.record.status.terminal:
            return
        if state.started and self.record.status is RunStatus.QUEUED:
            self.record.worker = state.worker
            self._started(state.host or "unknown", None)
        if state.exit is not None or state.lost:
            self._exit_seen = state
            self._maybe_finish()

    def receive(self, seq: int, stream: Stream, data: bytes) -> None:
        """Store chunk ``seq`` if it is the next one, then acknowledge; ignore a repeat.

        Raises :class:`AgentRefused` for a gap (the agent reconnects and resends).
        """
        if self._writer is None:
            return
        stored = self._stored_seq()
        if seq <= stored:
            self._schedule_ack()
            return
        if seq != stored + 1:
            raise AgentRefused("Output arrived out of order.")
        if self._store(stream, data) is None:
            # Not stored (disk full): counted in unstored_bytes; later chunks keep their
            # numbering through the offset, so the agent's seq and ours stay in step.
            self._unstored_chunks += 1
        self._schedule_ack()
        self._maybe_finish()

    def _stored_seq(self) -> int:
        """Return the agent seq up to which everything was received (stored or counted)."""
        last = self._writer.last_seq if self._writer is not None else self.record.last_seq
        return last + self._unstored_chunks

    def _schedule_ack(self) -> None:
        # One ack per pass of the event loop, however many chunks arrived in it.
        if not self._ack_scheduled:
            self._ack_scheduled = True
            asyncio.get_running_loop().call_soon(self._send_ack)

    def _send_ack(self) -> None:
        self._ack_scheduled = False
        if self._link is not None:
            self._link.send(encode(Ack(self._stored_seq())))

    def _maybe_finish(self) -> None:
        state = self._exit_seen
        if state is None or self.record.status.terminal:
            return
        if state.exit is not None and self._stored_seq() < state.exit.last_seq and not state.lost:
            return  # output still on its way
        if state.lost:
            self._end_lost("The worker running this run was lost.")
        elif state.exit is not None and state.exit.error is not None:
            self._end_spawn_error(state.exit.error)
        elif state.exit is not None:
            self._exited(state.exit.exit_code, state.exit.signal)

    # -- commands --------------------------------------------------------------------------

    def _cancel_accepted(self) -> None:
        if self.record.status is RunStatus.QUEUED and self._link is None:
            self._background(self._executor.withdraw(self.record.id))
            self._end(RunStatus.CANCELLED, self._cancel_reason)
            return
        self._save_and_announce()
        if self._link is not None:
            self._link.send(encode(Cancel()))

    def write_input(self, data: bytes) -> None:
        """Send typed input to the agent; raise NotATty, RunConflict or InputRefused."""
        self._check_tty(started=self.record.status is RunStatus.RUNNING)
        if self._link is None:
            raise InputRefused("The run's agent is reconnecting; try again.")
        self._link.send(encode(Input(data.decode("utf-8", "replace"))))

    def resize(self, cols: int, rows: int) -> None:
        """Send the terminal size to the agent (now, or when it connects)."""
        self._check_tty(started=not self.record.status.terminal)
        self._size = (cols, rows)
        if self._link is not None:
            self._link.send(encode(Resize(cols, rows)))

    def engine_lost(self, why: str) -> None:
        """The engine says the run's worker is gone (CONTRACT §7 ``worker_lost``)."""
        if self.record.status.terminal:
            return
        log.warning("Run %s: %s", self.record.id, why)
        self._end_lost(f"The worker running this run was lost ({why}).")
        self._background(self._executor.withdraw(self.record.id))

    # -- ending ----------------------------------------------------------------------------

    def _arm_lost_timer(self) -> None:
        self._disarm_lost_timer()
        if self._suspended:
            return
        self._lost_timer = asyncio.get_running_loop().call_later(
            self._lost_timeout_seconds,
            self._end_lost,
            f"No agent for {self._lost_timeout_seconds:g} s: the worker was lost.",
        )

    def _disarm_lost_timer(self) -> None:
        if self._lost_timer is not None:
            self._lost_timer.cancel()
            self._lost_timer = None

    def _end_lost(self, error: str) -> None:
        if self.record.status.terminal:
            return
        if self.record.cancel_requested:
            self._end(RunStatus.CANCELLED, self._cancel_reason, error=error)
        else:
            self._end(RunStatus.FAILED, EndReason.WORKER_LOST, error=error)

    def _release(self) -> None:
        self._disarm_lost_timer()

    def _end(self, status: RunStatus, reason: EndReason, error: str | None = None) -> None:
        super()._end(status, reason, error)
        link, self._link = self._link, None
        if link is not None:
            link.send(encode(Done()))

    def _background(self, coroutine: object) -> None:
        assert asyncio.iscoroutine(coroutine)
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
