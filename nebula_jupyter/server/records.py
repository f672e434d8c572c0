"""What the server stores about a run, the one table of status transitions, and create requests.

All status transitions live in :data:`TRANSITIONS`, and :meth:`StoredRun.move_to` is the only
code that changes ``status``: an illegal move raises :class:`IllegalTransition` rather than
silently producing a second terminal status.

No lock guards a record. Every transition runs on the event loop's thread (pipe callbacks,
timers, handlers), and the only ``await`` inside a run's lifecycle is the spawn: a cancel that
arrives during the spawn sees the run still ``queued`` with ``starting`` set, and is carried out
once the spawn returns (see ``server/run.py``).
"""

from __future__ import annotations

import dataclasses
import math
from datetime import UTC, datetime
from typing import Any

from ..protocol import EndReason, RunRecord, RunStatus

_Q, _R = RunStatus.QUEUED, RunStatus.RUNNING
_S, _F, _C = RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED

#: status → the statuses it may move to. Queued runs can fail without running: a spawn error,
#: or a server that died before starting them.
TRANSITIONS: dict[RunStatus, frozenset[RunStatus]] = {
    _Q: frozenset({_R, _F, _C}),
    _R: frozenset({_S, _F, _C}),
    _S: frozenset(),
    _F: frozenset(),
    _C: frozenset(),
}


class IllegalTransition(RuntimeError):
    """A status change that :data:`TRANSITIONS` does not allow: a bug, never a user error."""


def utc_now() -> str:
    """Return the current time as an ISO-8601 UTC string with milliseconds."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclasses.dataclass
class StoredRun:
    """Everything the server keeps about a run: the public record plus server-only fields."""

    id: str
    command: list[str] | str
    cwd: str = ""
    name: str | None = None
    status: RunStatus = RunStatus.QUEUED
    cancel_requested: bool = False
    exit_code: int | None = None
    signal: str | None = None
    reason: EndReason | None = None
    error: str | None = None
    created_at: str = dataclasses.field(default_factory=utc_now)
    started_at: str | None = None
    finished_at: str | None = None
    pid: int | None = None
    stdout_bytes: int = 0
    stderr_bytes: int = 0
    last_seq: int = 0
    tty: bool = False
    executor: str = "local"
    host: str | None = None
    unstored_bytes: int = 0
    # Server-only fields of a remote run (CONTRACT §7): the SHA-256 of its agent credential
    # (never the credential), the agent that claimed it (an engine's retry of the task is
    # refused) and the engine's name for the worker.
    agent_credential_sha256: str | None = None
    agent_id: str | None = None
    worker: str | None = None

    def move_to(self, status: RunStatus) -> None:
        """Change status as :data:`TRANSITIONS` allows; raise :class:`IllegalTransition`."""
        if status not in TRANSITIONS[self.status]:
            raise IllegalTransition(f"run {self.id}: {self.status} → {status} is not allowed")
        self.status = status
        if status is RunStatus.RUNNING:
            self.started_at = utc_now()
        elif status.terminal:
            self.finished_at = utc_now()

    def to_record(self) -> RunRecord:
        """Return the record as clients see it (CONTRACT §1); the pid stays server-side."""
        return {
            "id": self.id,
            "name": self.name,
            "command": self.command,
            "cwd": self.cwd,
            "status": self.status.value,
            "cancel_requested": self.cancel_requested,
            "exit_code": self.exit_code,
            "signal": self.signal,
            "reason": self.reason.value if self.reason else None,
            "error": self.error,
            "created_at": self.created_at,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "stdout_bytes": self.stdout_bytes,
            "stderr_bytes": self.stderr_bytes,
            "last_seq": self.last_seq,
            "tty": self.tty,
            "executor": self.executor,
            "host": self.host,
            "unstored_bytes": self.unstored_bytes,
        }

    def to_storage(self) -> dict[str, Any]:
        """Return the record with the server-only fields, for the database."""
        return {
            **self.to_record(),
            "pid": self.pid,
            "agent_credential_sha256": self.agent_credential_sha256,
            "agent_id": self.agent_id,
            "worker": self.worker,
        }

    @classmethod
    def from_storage(cls, data: dict[str, Any]) -> StoredRun:
        """Rebuild a record saved by :meth:`to_storage`; raise ValueError if it is damaged."""
        fields = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in fields}
        values["status"] = RunStatus(values["status"])
        if values.get("reason"):
            values["reason"] = EndReason(values["reason"])
        try:
            return cls(**values)
        except TypeError as exc:
            raise ValueError(f"damaged run record: {exc}") from None


_REQUEST_FIELDS = {"command", "cwd", "env", "name", "tty", "executor", "resources"}


@dataclasses.dataclass(frozen=True)
class RunRequest:
    """A validated create request (the body of ``POST api/nebula/runs``, CONTRACT §2)."""

    command: list[str] | str
    cwd: str = ""
    env: dict[str, str] = dataclasses.field(default_factory=dict)
    name: str | None = None
    tty: bool = False
    #: The executor's name; None means the server's default (CONTRACT §7).
    executor: str | None = None
    #: Engine resource constraints, e.g. ``{"GPU": 1}`` (CONTRACT §7).
    resources: dict[str, float] = dataclasses.field(default_factory=dict)

    @classmethod
    def from_json(cls, body: object) -> RunRequest:
        """Validate a decoded JSON body, raising ValueError that says what is wrong."""
        if not isinstance(body, dict):
            raise ValueError("The body must be a JSON object.")
        if set(body) - _REQUEST_FIELDS:
            # Not repeated back: a field name is client text and may be anything.
            known = ", ".join(sorted(_REQUEST_FIELDS))
            raise ValueError(f"The body has unknown fields; the fields are {known}.")
        if "command" not in body:
            raise ValueError("'command' is required.")
        command = _command(body["command"])
        cwd = body.get("cwd", "")
        if not isinstance(cwd, str):
            raise ValueError("'cwd' must be a string.")
        _check_text(cwd, "cwd")
        name = body.get("name")
        if name is not None and not isinstance(name, str):
            raise ValueError("'name' must be a string or null.")
        if name is not None:
            _check_text(name, "name")
        tty = body.get("tty", False)
        if not isinstance(tty, bool):
            raise ValueError("'tty' must be true or false.")
        executor = body.get("executor")
        if executor is not None and not isinstance(executor, str):
            raise ValueError("'executor' must be a string.")
        return cls(
            command=command,
            cwd=cwd,
            env=_env(body.get("env", {})),
            name=name,
            tty=tty,
            executor=executor,
            resources=_resources(body.get("resources")),
        )


def _resources(resources: object) -> dict[str, float]:
    if resources is None:
        return {}
    if not isinstance(resources, dict) or not all(
        isinstance(key, str)
        and isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value > 0
        for key, value in resources.items()
    ):
        raise ValueError("'resources' must be an object mapping names to positive numbers.")
    for key in resources:
        _check_text(key, "resources")
        if not key:
            raise ValueError("'resources' has an empty name.")
    return {key: float(value) for key, value in resources.items()}


def _command(command: object) -> list[str] | str:
    if isinstance(command, str):
        if not command.strip():
            raise ValueError("'command' must not be empty.")
        _check_text(command, "command")
        return command
    if not isinstance(command, list):
        raise ValueError("'command' must be a list of strings or a shell string.")
    if not command:
        raise ValueError("'command' must not be empty.")
    if not all(isinstance(part, str) for part in command):
        raise ValueError("'command' must be a list of strings.")
    if not command[0]:
        raise ValueError("'command' must start with a program name.")
    for part in command:
        _check_text(part, "command")
    return list(command)


def _env(env: object) -> dict[str, str]:
    if not isinstance(env, dict) or not all(
        isinstance(key, str) and isinstance(value, str) for key, value in env.items()
    ):
        raise ValueError("'env' must be an object mapping strings to strings.")
    for key, value in env.items():
        _check_text(key, "env")
        _check_text(value, "env")
        if not key or "=" in key:
            raise ValueError("'env' has a variable with an empty name or a '=' in its name.")
    return dict(env)


def _check_text(value: str, field: str) -> None:
    """Refuse what cannot be stored or passed to a process: NUL and lone surrogates."""
    if "\0" in value:
        raise ValueError(f"'{field}' must not contain NUL characters.")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        # A lone surrogate (half an emoji cut by a JS client, or os.listdir's escape of a
        # non-UTF-8 file name) is not Unicode text: storing it would poison the database.
        raise ValueError(f"'{field}' is not valid Unicode text (a lone surrogate).") from None
