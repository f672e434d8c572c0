"""What to send for each REST endpoint and how to read the answer, with no I/O (CONTRACT §2).

One builder per endpoint returns a :class:`Call`: method, path, query, JSON body, and the
parser of a successful answer. The blocking driver (``sync.py``) and the asyncio driver
(``aio.py``) only send calls and hand the answer back to :meth:`Call.parse`, so the two clients
cannot drift apart (the idea of httpx's ``BaseClient.build_request``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypedDict, TypeVar, Unpack
from urllib.parse import quote

from ..protocol import STATUSES, STREAM_LABELS, RunRecord
from .address import ServerAddress
from .errors import NebulaError, check

T = TypeVar("T")
Command = Sequence[str] | str


@dataclass(frozen=True)
class Call(Generic[T]):
    """One REST request and the parser of its successful answer."""

    method: str
    path: str
    read: Callable[[bytes], T]
    query: Mapping[str, str] | None = None
    body: Any = None

    @property
    def what(self) -> str:
        """Name the request in error messages, e.g. ``GET api/nebula/runs/x``."""
        return f"{self.method} {self.path}"

    def encoded_body(self) -> bytes | None:
        """Return the JSON body as bytes (an empty body for a POST without one)."""
        if self.body is None:
            return b"" if self.method == "POST" else None
        return json.dumps(self.body).encode("utf-8")

    def parse(self, status: int, payload: bytes) -> T:
        """Return the parsed answer, or raise the :class:`NebulaError` its status means."""
        return self.read(check(status, payload, self.what))


def run_path(run_id: str | None = None, action: str | None = None) -> str:
    """Return the path of the runs collection, one run, or one run's sub-resource."""
    path = "api/nebula/runs"
    if run_id is not None:
        # Quoting everything keeps a hostile id from walking to another endpoint.
        path += "/" + quote(run_id, safe="")
    if action is not None:
        path += "/" + action
    return path


def _json(payload: bytes) -> Any:
    try:
        return json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise NebulaError("the server answered with something that is not JSON") from None


def _record(payload: bytes) -> RunRecord:
    record = _json(payload)
    if not isinstance(record, dict) or not isinstance(record.get("id"), str):
        raise NebulaError("the server answered without a run record")
    return record  # type: ignore[return-value]


def _records(payload: bytes) -> list[RunRecord]:
    runs = _json(payload)
    if not isinstance(runs, dict) or not isinstance(runs.get("runs"), list):
        raise NebulaError("the server answered without a list of runs")
    return list(runs["runs"])


def _nothing(payload: bytes) -> None:
    return None


def _raw(payload: bytes) -> bytes:
    return payload


class RunOptions(TypedDict, total=False):
    """Optional fields of a new run (CONTRACT §2 create body); None means the server default.

    ``name``: a label. ``cwd``: working directory relative to the server's root. ``env``:
    variables over the server's child environment.
    """

    name: str | None
    cwd: str | None
    env: Mapping[str, str] | None


def create_run(command: Command, **options: Unpack[RunOptions]) -> Call[RunRecord]:
    """``POST api/nebula/runs``: a list runs directly, a string through ``/bin/sh -c``."""
    body: dict[str, Any] = {"command": command if isinstance(command, str) else list(command)}
    for key, value in options.items():
        if value is not None:
            body[key] = dict(value) if isinstance(value, Mapping) else value
    return Call("POST", run_path(), _record, body=body)


def get_run(run_id: str) -> Call[RunRecord]:
    """``GET api/nebula/runs/{id}``."""
    return Call("GET", run_path(run_id), _record)


def list_runs(status: str | None = None) -> Call[list[RunRecord]]:
    """``GET api/nebula/runs``, newest first, optionally only runs with ``status``."""
    if status is not None and status not in STATUSES:
        raise ValueError(f"status must be one of {', '.join(sorted(STATUSES))}")
    return Call("GET", run_path(), _records, query={"status": status} if status else None)


def cancel_run(run_id: str) -> Call[RunRecord]:
    """``POST api/nebula/runs/{id}/cancel``; a finished run raises ``Conflict``."""
    return Call("POST", run_path(run_id, "cancel"), _record, body={})


def delete_run(run_id: str) -> Call[None]:
    """``DELETE api/nebula/runs/{id}``; an active run raises ``Conflict``."""
    return Call("DELETE", run_path(run_id), _nothing)


def run_logs(run_id: str, stream: str | None = None, *, follow: bool = False) -> Call[bytes]:
    """``GET api/nebula/runs/{id}/logs``: exact bytes, one stream or both in seq order."""
    if stream is not None and stream not in STREAM_LABELS:
        raise ValueError(f"stream must be 'stdout', 'stderr' or None, not {stream!r}")
    query = {"stream": stream} if stream else {}
    if follow:
        query["follow"] = "1"
    return Call("GET", run_path(run_id, "logs"), _raw, query=query or None)


def stream_url(address: ServerAddress, run_id: str, after_seq: int) -> str:
    """Return the WebSocket URL of a run's stream, resuming after ``after_seq`` (CONTRACT §3)."""
    return address.ws_url(run_path(run_id, "stream"), {"after": str(after_seq)})
