"""The agent link: how a remote agent and the server talk over one WebSocket (CONTRACT §7).

The agent runs a run's command on a worker of a distributed engine and dials the server at
``api/nebula/agents/{run_id}`` with ``Authorization: Bearer <credential>``, the run's own
credential. The rules that make a remote run as exact as a local one:

- **seq is assigned where the pipes are read** (the agent), one counter for both streams;
- the server stores chunk ``k`` only if it is ``stored + 1``, stores it before any viewer sees
  it, then acknowledges (cumulatively); the agent forgets only acknowledged chunks, and stops
  reading the pipes while :data:`MAX_UNACKED_BYTES` are unacknowledged (the program then
  blocks in ``write``; nothing is dropped);
- every connection starts with a ``state`` message carrying the agent's whole state (state,
  not events, so a reconnect needs no replay of control messages; the agent sends a new one
  whenever its state changes); the server answers the first with ``welcome``, saying how
  much it has stored, and the agent resends the rest;
- the agent starts the command only after its first ``welcome``, and the server welcomes only
  the agent that claimed the run first: an engine's retry of a lost task is refused with
  close code :data:`CLOSE_REFUSED` before anything runs twice.

Output travels in binary frames (:data:`OUTPUT_HEADER` then the raw bytes: exact, no
base64); everything else is a JSON text frame. Standard library only, like ``protocol.py``.
"""

from __future__ import annotations

import dataclasses
import json
import struct
from typing import Any

# The same strict checks as the run stream's messages (both are wire formats of this package).
from .protocol import (
    ProtocolError,
    Stream,
    _count,
    _json_object,
    _text,
    _text_or_null,
)

#: The agent endpoint, relative to the server's base URL.
AGENT_PATH = "api/nebula/agents/{run_id}"
#: The run has another agent, has ended or is unknown: the agent must not (or no longer) run it.
CLOSE_REFUSED = 4409
#: Unacknowledged output beyond which the agent stops reading the program's pipes.
MAX_UNACKED_BYTES = 8 << 20
#: Largest output frame an agent sends (header included): it reads pipes in smaller pieces.
MAX_OUTPUT_FRAME_BYTES = 4 << 20
#: seq (unsigned 64-bit), stream (1 = stdout, 2 = stderr), big-endian.
OUTPUT_HEADER = struct.Struct(">QB")


def output_frame(seq: int, stream: Stream, data: bytes) -> bytes:
    """Encode one chunk of output as a binary frame."""
    return OUTPUT_HEADER.pack(seq, stream) + data


def parse_output_frame(frame: bytes) -> tuple[int, Stream, bytes]:
    """Decode a binary frame into ``(seq, stream, data)``; raise :class:`ProtocolError`."""
    if len(frame) < OUTPUT_HEADER.size:
        raise ProtocolError("An output frame is shorter than its header.")
    seq, stream = OUTPUT_HEADER.unpack_from(frame)
    if seq < 1 or stream not in (1, 2):
        raise ProtocolError("An output frame has a bad seq or stream.")
    return seq, Stream(stream), frame[OUTPUT_HEADER.size :]


@dataclasses.dataclass(frozen=True)
class AgentJob:
    """Everything an agent needs, handed to the engine inside its task (never in argv or env).

    ``url`` is the agent endpoint as a ``ws://`` or ``wss://`` URL; ``env`` holds the
    variables the run adds to the worker's (scrubbed) environment; ``cwd`` is absolute.
    """

    run_id: str
    url: str
    credential: str
    argv: list[str]
    cwd: str
    env: dict[str, str]
    tty: bool = False
    cancel_grace_seconds: float = 5.0
    drain_timeout_seconds: float = 5.0
    lost_timeout_seconds: float = 30.0
    #: The engine's name for the worker, filled in by the task once it runs there.
    worker: str | None = None

    def to_json(self) -> str:
        """Encode as one line of JSON."""
        return json.dumps(dataclasses.asdict(self))

    @classmethod
    def from_json(cls, raw: str) -> AgentJob:
        """Decode :meth:`to_json`'s output; raise :class:`ProtocolError`."""
        try:
            data = json.loads(raw)
            return cls(**data)
        except (ValueError, TypeError) as exc:
            raise ProtocolError(f"Not an agent job: {type(exc).__name__}") from None


@dataclasses.dataclass(frozen=True)
class ExitState:
    """How the command ended, once its output is complete up to ``last_seq``."""

    exit_code: int | None
    signal: str | None
    last_seq: int
    error: str | None = None  # set when the command could not start (``spawn_error``)


@dataclasses.dataclass(frozen=True)
class AgentState:
    """The agent's whole state: first on every connection, again whenever it changes."""

    agent_id: str
    started: bool
    pid: int | None = None
    host: str | None = None
    worker: str | None = None
    exit: ExitState | None = None
    lost: bool = False  # the worker that ran the agent is gone: the tree was killed


@dataclasses.dataclass(frozen=True)
class Welcome:
    """The server's answer to :class:`AgentState`: resend after ``stored_seq``; cancel if asked."""

    stored_seq: int
    cancel: bool


@dataclasses.dataclass(frozen=True)
class Ack:
    """Every chunk up to ``seq`` is stored."""

    seq: int


@dataclasses.dataclass(frozen=True)
class Cancel:
    """Run the TERM → grace → KILL ladder on the run's tree."""


@dataclasses.dataclass(frozen=True)
class Input:
    """Type ``data`` into a terminal-mode run."""

    data: str


@dataclasses.dataclass(frozen=True)
class Resize:
    """Resize a terminal-mode run's terminal."""

    cols: int
    rows: int


@dataclasses.dataclass(frozen=True)
class Done:
    """The run's end is stored: the agent may exit."""


ServerToAgent = Welcome | Ack | Cancel | Input | Resize | Done


def encode(message: AgentState | ServerToAgent) -> str:
    """Encode a control message as a JSON text frame."""
    body: dict[str, Any] = {"type": _TYPES[type(message)], **dataclasses.asdict(message)}
    return json.dumps(body, separators=(",", ":"))


_TYPES: dict[type[Any], str] = {
    AgentState: "state",
    Welcome: "welcome",
    Ack: "ack",
    Cancel: "cancel",
    Input: "stdin",
    Resize: "resize",
    Done: "done",
}


def _object(raw: str | bytes) -> dict[str, Any]:
    body = _json_object(raw)
    if not isinstance(body.get("type"), str):
        raise ProtocolError("A control message must have a 'type'.")
    return body


def _count_or_null(value: object) -> bool:
    return value is None or _count(value)


def parse_agent_state(raw: str | bytes) -> AgentState:
    """Parse an agent's control message strictly; raise :class:`ProtocolError`."""
    body = _object(raw)
    if body["type"] != "state":
        raise ProtocolError("An agent sends only 'state' control messages.")
    exit_state = body.get("exit")
    checks = (
        _text(body.get("agent_id")) and 0 < len(body["agent_id"]) <= 64,
        isinstance(body.get("started"), bool),
        _count_or_null(body.get("pid")),
        _text_or_null(body.get("host")),
        _text_or_null(body.get("worker")),
        isinstance(body.get("lost", False), bool),
        exit_state is None or isinstance(exit_state, dict),
    )
    if not all(checks):
        raise ProtocolError("A 'state' message has missing or bad fields.")
    state = None
    if exit_state is not None:
        if not (
            _count_or_null(exit_state.get("exit_code"))
            and _text_or_null(exit_state.get("signal"))
            and _count(exit_state.get("last_seq"))
            and _text_or_null(exit_state.get("error"))
        ):
            raise ProtocolError("A 'state' message has a bad 'exit'.")
        state = ExitState(
            exit_state.get("exit_code"),
            exit_state.get("signal"),
            exit_state["last_seq"],
            exit_state.get("error"),
        )
    return AgentState(
        agent_id=body["agent_id"],
        started=body["started"],
        pid=body.get("pid"),
        host=body.get("host"),
        worker=body.get("worker"),
        exit=state,
        lost=body.get("lost", False),
    )


def parse_server_message(raw: str | bytes) -> ServerToAgent:
    """Parse a control message from the server (agent side); raise :class:`ProtocolError`."""
    body = _object(raw)
    kind = body["type"]
    if (
        kind == "welcome"
        and _count(body.get("stored_seq"))
        and isinstance(body.get("cancel"), bool)
    ):
        return Welcome(body["stored_seq"], body["cancel"])
    if kind == "ack" and _count(body.get("seq")):
        return Ack(body["seq"])
    if kind == "cancel":
        return Cancel()
    if kind == "stdin" and isinstance(body.get("data"), str):
        return Input(body["data"])
    if kind == "resize" and _count(body.get("cols")) and _count(body.get("rows")):
        return Resize(body["cols"], body["rows"])
    if kind == "done":
        return Done()
    raise ProtocolError("Unknown or malformed control message from the server.")
