"""The run record: statuses, end reasons and the JSON form clients see."""

from __future__ import annotations

import dataclasses
import enum
import re
from datetime import UTC, datetime
from typing import Any

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
        return self in _TERMINAL


_TERMINAL = frozenset({RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED})


class EndReason(enum.StrEnum):
    """Machine word for how a run ended."""

    EXITED = "exited"
    SIGNALLED = "signalled"
    CANCELLED = "cancelled"
    SPAWN_ERROR = "spawn_error"
    SERVER_SHUTDOWN = "server_shutdown"
    SERVER_LOST = "server_lost"


class Stream(enum.IntEnum):
    """The two output pipes of a run; the value is what the chunk index stores."""

    STDOUT = 1
    STDERR = 2

    @property
    def label(self) -> str:
        """Return the wire name of the stream."""
        return "stdout" if self is Stream.STDOUT else "stderr"


def utc_now() -> str:
    """Return the current time as an ISO-8601 UTC string."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclasses.dataclass
class RunRecord:
    """Everything the server knows about a run that clients may see."""

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

    def to_json(self) -> dict[str, Any]:
        """Return the record as clients see it (the pid stays server-side)."""
        data = dataclasses.asdict(self)
        del data["pid"]
        data["status"] = self.status.value
        data["reason"] = self.reason.value if self.reason else None
        return data

    def to_storage(self) -> dict[str, Any]:
        """Return the record with the server-only fields, for the database."""
        data = self.to_json()
        data["pid"] = self.pid
        return data

    @classmethod
    def from_storage(cls, data: dict[str, Any]) -> RunRecord:
        """Rebuild a record saved by :meth:`to_storage`."""
        fields = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in fields}
        values["status"] = RunStatus(values["status"])
        if values.get("reason"):
            values["reason"] = EndReason(values["reason"])
        return cls(**values)


_REQUEST_FIELDS = {"command", "cwd", "env", "name"}


@dataclasses.dataclass(frozen=True)
class RunRequest:
    """A validated create request (the body of ``POST api/nebula/runs``)."""

    command: list[str] | str
    cwd: str = ""
    env: dict[str, str] = dataclasses.field(default_factory=dict)
    name: str | None = None

    @classmethod
    def from_json(cls, body: object) -> RunRequest:
        """Validate a decoded JSON body, raising ValueError that says what is wrong."""
        if not isinstance(body, dict):
            raise ValueError("The body must be a JSON object.")
        unknown = sorted(set(body) - _REQUEST_FIELDS)
        if unknown:
            raise ValueError(f"Unknown field(s): {', '.join(map(repr, unknown))}.")
        if "command" not in body:
            raise ValueError("'command' is required.")
        command = body["command"]
        if isinstance(command, str):
            if not command.strip():
                raise ValueError("'command' must not be empty.")
            _check_no_nul(command, "command")
        elif isinstance(command, list):
            if not command:
                raise ValueError("'command' must not be empty.")
            if not all(isinstance(part, str) for part in command):
                raise ValueError("'command' must be a list of strings.")
            if not command[0]:
                raise ValueError("'command' must start with a program name.")
            for part in command:
                _check_no_nul(part, "command")
        else:
            raise ValueError("'command' must be a list of strings or a shell string.")
        cwd = body.get("cwd", "")
        if not isinstance(cwd, str):
            raise ValueError("'cwd' must be a string.")
        _check_no_nul(cwd, "cwd")
        name = body.get("name")
        if name is not None and not isinstance(name, str):
            raise ValueError("'name' must be a string or null.")
        env = body.get("env", {})
        if not isinstance(env, dict) or not all(
            isinstance(key, str) and isinstance(value, str) for key, value in env.items()
        ):
            raise ValueError("'env' must be an object mapping strings to strings.")
        for key, value in env.items():
            if not key or "=" in key or "\0" in key or "\0" in value:
                raise ValueError(f"'env' has an invalid variable {key!r}.")
        return cls(command=command, cwd=cwd, env=dict(env), name=name)


def _check_no_nul(value: str, field: str) -> None:
    if "\0" in value:
        raise ValueError(f"'{field}' must not contain NUL characters.")
