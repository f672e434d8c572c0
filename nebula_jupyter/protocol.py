"""The wire contract in one place (CONTRACT.md §1 to §3, §5): the twin of ``js/src/protocol.ts``.

Both programs speak this module and nothing else of each other: the server encodes the frames
it sends and parses the messages it accepts; the client parses the frames it receives. It holds
the run statuses, end reasons and streams, the WebSocket close codes, the environment variable
names the server hands to kernels and children, and the JSON shape of a run record.

Standard library only, so that importing it costs nothing in a kernel. ``tests/golden/`` holds
valid and invalid example frames that both this module and ``protocol.ts`` are tested against.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import re
from collections.abc import Callable
from typing import Any, TypedDict

#: Run ids are server-made; anything else in a URL is refused before storage is touched.
RUN_ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class RunStatus(enum.StrEnum):
    """Lifecycle of a run; the last three are terminal and a run reaches exactly one."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def terminal(self) -> bool:
        """Say whether no further transition can happen."""
        return self.value in TERMINAL_STATUSES


#: The statuses after which nothing changes, as the plain strings found in records.
TERMINAL_STATUSES = frozenset({"succeeded", "failed", "cancelled"})
STATUSES = frozenset({"queued", "running"}) | TERMINAL_STATUSES


class EndReason(enum.StrEnum):
    """Machine word for how a run ended (the record's ``reason``)."""

    EXITED = "exited"
    SIGNALLED = "signalled"
    CANCELLED = "cancelled"
    SPAWN_ERROR = "spawn_error"
    SERVER_SHUTDOWN = "server_shutdown"
    SERVER_LOST = "server_lost"
    WORKER_LOST = "worker_lost"


class Stream(enum.IntEnum):
    """The two output streams of a run; the value is what the server's chunk index stores."""

    STDOUT = 1
    STDERR = 2

    @property
    def label(self) -> str:
        """Return the wire name of the stream."""
        return "stdout" if self is Stream.STDOUT else "stderr"


STREAM_LABELS = ("stdout", "stderr")

# WebSocket close codes (RFC 6455 §7.4.1 for the 1xxx ones; 44xx mirror HTTP 401/404).
CLOSE_NORMAL = 1000
CLOSE_GOING_AWAY = 1001
CLOSE_POLICY_VIOLATION = 1008
CLOSE_TOO_BIG = 1009
CLOSE_INTERNAL_ERROR = 1011
CLOSE_UNAUTHORIZED = 4401
CLOSE_NOT_FOUND = 4404

#: Larger client frames are refused with close code 1009.
MAX_CLIENT_MESSAGE_BYTES = 64 * 1024

# Environment variables (CONTRACT §2, §5).
#: Set by the extension in the environment of the kernels its server starts.
KERNEL_URL_ENV = "NEBULA_KERNEL_URL"
#: A credential accepted only by the nebula endpoints; never the server's own token.
KERNEL_SECRET_ENV = "NEBULA_KERNEL_SECRET"  # noqa: S105 (a variable name)
#: Set by users outside a kernel.
URL_ENV = "NEBULA_URL"
TOKEN_ENV = "NEBULA_TOKEN"  # noqa: S105 (a variable name)
#: Marks every process of a run, so its leftovers can be told from a reused pid.
RUN_ID_ENV = "NEBULA_RUN_ID"
#: Set in a remote run's environment: the engine's name for the worker that runs it (§7).
WORKER_ENV = "NEBULA_WORKER"


class RunRecord(TypedDict):
    """A run record as JSON (CONTRACT §1 "Run record"); ``protocol.ts`` has the same shape."""

    id: str
    name: str | None
    command: list[str] | str
    cwd: str
    status: str
    cancel_requested: bool
    exit_code: int | None
    signal: str | None
    reason: str | None
    error: str | None
    created_at: str | None
    started_at: str | None
    finished_at: str | None
    stdout_bytes: int
    stderr_bytes: int
    last_seq: int
    tty: bool
    executor: str
    host: str | None
    unstored_bytes: int


class ProtocolError(ValueError):
    """A frame or message that does not follow this contract; the text says what is wrong."""


# -- server frames: encoding (server side) --------------------------------------------------

_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def encode(message: dict[str, Any]) -> bytes:
    """Encode a message as the UTF-8 bytes of one JSON text frame."""
    return _dumps(message).encode("utf-8")


# The bytes that may appear raw in terminal output and have a short JSON escape; any other
# control byte sends the chunk down the general (json module) path.
_FAST_ESCAPES = (
    (b"\\", b"\\\\"),
    (b'"', b'\\"'),
    (b"\n", b"\\n"),
    (b"\r", b"\\r"),
    (b"\t", b"\\t"),
    (b"\x1b", b"\\u001b"),
)
_OTHER_CONTROLS = bytes(b for b in range(0x20) if b not in b"\n\r\t\x1b")


def output_frame(stream: Stream, seq: int, data: bytes) -> bytes:
    """Encode output whose bytes were cut at character boundaries; bad bytes become U+FFFD."""
    fast = _fast_output_frame(stream, seq, data)
    if fast is not None:
        return fast
    text = data.decode("utf-8", "replace")
    return encode({"type": stream.label, "seq": seq, "data": text})


def _fast_output_frame(stream: Stream, seq: int, data: bytes) -> bytes | None:
    # JSON-encoding output is most of the server's work per chunk. Valid UTF-8 with only the
    # usual control bytes can be escaped with a few C-speed replaces instead (4x faster);
    # the result is byte-for-byte valid JSON with the same value as the general path.
    if len(data.translate(None, _OTHER_CONTROLS)) != len(data):
        return None
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    for raw, escaped in _FAST_ESCAPES:
        if raw in data:
            data = data.replace(raw, escaped)
    head = b'{"type":"stdout","seq":' if stream is Stream.STDOUT else b'{"type":"stderr","seq":'
    return b"".join((head, str(seq).encode(), b',"data":"', data, b'"}'))


def status_frame(record: RunRecord) -> bytes:
    """Encode a status message carrying the whole record."""
    return encode({"type": "status", "status": record["status"], "run": record})


def truncated_frame(skipped_bytes: int, first_seq: int) -> bytes:
    """Encode the notice that ``tail`` skipped part of the history."""
    return encode({"type": "truncated", "skipped_bytes": skipped_bytes, "first_seq": first_seq})


def error_frame(code: str, message: str) -> bytes:
    """Encode an error about a client message; the socket stays open."""
    return encode({"type": "error", "code": code, "message": message})


# -- server frames: parsing (client side) ---------------------------------------------------


@dataclasses.dataclass(frozen=True)
class OutputMessage:
    """A piece of a run's output; ``seq`` is the number of the last chunk it includes."""

    stream: str
    seq: int
    data: str


@dataclasses.dataclass(frozen=True)
class StatusMessage:
    """The run changed status (or a cancel was accepted); ``run`` is the full record."""

    status: str
    run: RunRecord = dataclasses.field(repr=False)

    @property
    def terminal(self) -> bool:
        """Say whether this is the run's final status (always the stream's last message)."""
        return self.status in TERMINAL_STATUSES


@dataclasses.dataclass(frozen=True)
class TruncatedMessage:
    """``tail`` skipped ``skipped_bytes`` of history; output resumes at ``first_seq``."""

    skipped_bytes: int
    first_seq: int


@dataclasses.dataclass(frozen=True)
class ErrorMessage:
    """The server refused one of our messages; the socket stays open."""

    code: str
    message: str


ServerMessage = OutputMessage | StatusMessage | TruncatedMessage | ErrorMessage


def _is_int(value: object) -> bool:
    # bool is an int subclass in Python but not a JSON number.
    return isinstance(value, int) and not isinstance(value, bool)


def _count(value: object) -> bool:
    return _is_int(value) and value >= 0  # type: ignore[operator]


def _positive(value: object) -> bool:
    return _is_int(value) and value > 0  # type: ignore[operator]


def _terminal_size(value: object) -> bool:
    return _is_int(value) and 1 <= value <= MAX_TERMINAL_SIZE  # type: ignore[operator]


def _text(value: object) -> bool:
    return isinstance(value, str)


def _text_or_null(value: object) -> bool:
    return value is None or isinstance(value, str)


def _status(value: object) -> bool:
    return isinstance(value, str) and value in STATUSES


def _command(value: object) -> bool:
    if isinstance(value, list):
        return all(isinstance(part, str) for part in value)
    return value is None or isinstance(value, str)


# Optional record fields, as protocol.ts has them: a newer or older server may omit one, but a
# field that is present with the wrong type is a protocol violation.
_RECORD_FIELDS: dict[str, tuple[Callable[[object], bool], str, object]] = {
    "name": (_text_or_null, "a string or null", None),
    "command": (_command, "a list of strings or a string", None),
    "cwd": (_text, "a string", ""),
    "cancel_requested": (lambda v: isinstance(v, bool), "a boolean", False),
    "exit_code": (lambda v: v is None or _is_int(v), "an integer or null", None),
    "signal": (_text_or_null, "a string or null", None),
    "reason": (_text_or_null, "a string or null", None),
    "error": (_text_or_null, "a string or null", None),
    "created_at": (_text_or_null, "a string or null", None),
    "started_at": (_text_or_null, "a string or null", None),
    "finished_at": (_text_or_null, "a string or null", None),
    "stdout_bytes": (_count, "a non-negative integer", 0),
    "stderr_bytes": (_count, "a non-negative integer", 0),
    "last_seq": (_count, "a non-negative integer", 0),
    "tty": (lambda v: isinstance(v, bool), "a boolean", False),
    "executor": (_text, "a string", "local"),
    "host": (_text_or_null, "a string or null", None),
    "unstored_bytes": (_count, "a non-negative integer", 0),
}


def _field(obj: dict[str, Any], key: str, check: Callable[[object], bool], what: str) -> Any:
    value = obj.get(key)
    if key not in obj or not check(value):
        raise ProtocolError(f"{key!r} must be {what}.")
    return value


def parse_run_record(value: object) -> RunRecord:
    """Check a run record from the server; missing optional fields get neutral defaults.

    Raises :class:`ProtocolError` naming the first field with a wrong type.
    """
    if not isinstance(value, dict):
        raise ProtocolError("'run' must be an object.")
    _field(value, "id", _text, "a string")
    _field(value, "status", _status, "a run status")
    record = dict(value)
    for key, (check, what, default) in _RECORD_FIELDS.items():
        if key not in record:
            record[key] = default
        elif not check(record[key]):
            raise ProtocolError(f"run field {key!r} must be {what}.")
    return record  # type: ignore[return-value]


def _json_object(raw: str | bytes) -> dict[str, Any]:
    try:
        value = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ProtocolError("Message is not valid JSON.") from exc
    if not isinstance(value, dict):
        raise ProtocolError("Message must be a JSON object.")
    return value


def parse_server_message(raw: str | bytes) -> ServerMessage:
    """Parse one frame the server sent; raise :class:`ProtocolError` saying what is wrong."""
    frame = _json_object(raw)
    kind = frame.get("type")
    if kind in STREAM_LABELS:
        seq = _field(frame, "seq", _positive, "a positive integer")
        return OutputMessage(str(kind), seq, _field(frame, "data", _text, "a string"))
    if kind == "status":
        status = _field(frame, "status", _status, "a run status")
        return StatusMessage(status, parse_run_record(frame.get("run")))
    if kind == "truncated":
        return TruncatedMessage(
            _field(frame, "skipped_bytes", _count, "a non-negative integer"),
            _field(frame, "first_seq", _positive, "a positive integer"),
        )
    if kind == "error":
        message = frame.get("message", "")
        if not isinstance(message, str):
            raise ProtocolError("'message' must be a string.")
        return ErrorMessage(_field(frame, "code", _text, "a string"), message)
    raise ProtocolError(f"Unknown message type {kind!r}." if _text(kind) else "No message type.")


# -- client messages: parsing (server side) -------------------------------------------------


@dataclasses.dataclass(frozen=True)
class AuthMessage:
    """First message of an unauthenticated handshake."""

    token: str = dataclasses.field(repr=False)


@dataclasses.dataclass(frozen=True)
class CancelMessage:
    """Ask to cancel the run."""


@dataclasses.dataclass(frozen=True)
class AckMessage:
    """Acknowledge everything up to ``seq`` (flow control)."""

    seq: int


@dataclasses.dataclass(frozen=True)
class StdinMessage:
    """Input for a run in terminal mode, as typed (CONTRACT §3 v2); at most 16 KiB of text."""

    data: str


@dataclasses.dataclass(frozen=True)
class ResizeMessage:
    """The viewer's terminal size for a run in terminal mode; 1 to 1000 each."""

    cols: int
    rows: int


ClientMessage = AuthMessage | CancelMessage | AckMessage | StdinMessage | ResizeMessage

#: The most text one ``stdin`` message may carry (a paste is split by the viewer).
MAX_STDIN_CHARS = 16 * 1024
MAX_TERMINAL_SIZE = 1000


def parse_client_message(raw: str | bytes) -> ClientMessage:
    """Parse one client frame or raise :class:`ProtocolError` saying what is wrong."""
    message = _json_object(raw)
    kind = message.get("type")
    if kind == "cancel":
        return CancelMessage()
    if kind == "ack":
        return AckMessage(_field(message, "seq", _count, "a non-negative integer"))
    if kind == "auth":
        return AuthMessage(_field(message, "token", _text, "a string"))
    if kind == "stdin":
        data = _field(message, "data", _text, "a string")
        if len(data) > MAX_STDIN_CHARS:
            raise ProtocolError(f"'stdin' carries at most {MAX_STDIN_CHARS} characters.")
        return StdinMessage(data)
    if kind == "resize":
        return ResizeMessage(
            _field(message, "cols", _terminal_size, f"an integer from 1 to {MAX_TERMINAL_SIZE}"),
            _field(message, "rows", _terminal_size, f"an integer from 1 to {MAX_TERMINAL_SIZE}"),
        )
    if not _text(kind):
        raise ProtocolError("Message needs a string 'type'.")
    # Never echo the client's text back: it may be anything, including markup.
    raise ProtocolError("Unknown message type.")
