"""What to send for each REST endpoint and how to read the answer, with no I/O (CONTRACT §2).

One builder per endpoint returns a :class:`Call`: method, path, query, JSON body, and the
parser of a successful answer. The blocking driver (``sync.py``) and the asyncio driver
(``aio.py``) only send calls and hand the answer back to :meth:`Call.parse`, so the two clients
cannot drift apart (the idea of httpx's ``BaseClient.build_request``).

The public methods check their arguments first (``arguments.py``); the builders trust them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, ParamSpec, TypedDict, TypeVar, Unpack
from urllib.parse import quote

from ..protocol import RunRecord
from .address import ServerAddress
from .errors import NebulaError, check

T = TypeVar("T")
P = ParamSpec("P")
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


class RunPage(TypedDict):
    """One page of the run list: records newest first, and the cursor of the next page."""

    runs: list[RunRecord]
    next: str | None


def _page(payload: bytes) -> RunPage:
    page = _json(payload)
    if not isinstance(page, dict) or not isinstance(page.get("runs"), list):
        raise NebulaError("the server answered without a list of runs")
    following = page.get("next")
    return {"runs": page["runs"], "next": following if isinstance(following, str) else None}


def _nothing(payload: bytes) -> None:
    return None


def _raw(payload: bytes) -> bytes:
    return payload


class RunOptions(TypedDict, total=False):
    """Optional fields of a new run (CONTRACT §2 create body); None means the server default.

    ``name``: a label. ``cwd``: working directory, relative to the server's root or absolute
    inside it. ``env``: variables over the server's child environment. ``tty``: terminal mode
    (a pty for stdin and stdout, CONTRACT §1.1). ``executor``: where the run executes
    (``"local"``, ``"dask"``…; CONTRACT §7). ``resources``: engine resource constraints such
    as ``{"GPU": 1}``.
    """

    name: str | None
    cwd: str | None
    env: Mapping[str, str] | None
    tty: bool | None
    executor: str | None
    resources: Mapping[str, float] | None


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


def list_runs(
    status: str | None = None, *, limit: int | None = None, before: str | None = None
) -> Call[RunPage]:
    """``GET api/nebula/runs``: one page, newest first, optionally only runs with ``status``.

    ``limit`` is the page size (server default 100, at most :data:`MAX_PAGE`); ``before`` the
    previous page's ``next``.
    """
    query = {"status": status} if status else {}
    if limit is not None:
        query["limit"] = str(limit)
    if before is not None:
        query["before"] = before
    return Call("GET", run_path(), _page, query=query or None)


MAX_PAGE = 1000


class Pager:
    """Walk the run list page by page, up to ``limit`` records (None: all), with no I/O.

    A driver sends :meth:`next_call` until it returns None and hands each answer to
    :meth:`take`. Following ``next`` visits every run once, even while runs are created.
    """

    def __init__(self, status: str | None = None, limit: int | None = None) -> None:
        self.status = status
        self.remaining = limit
        self.more = False
        self._before: str | None = None
        self._done = limit == 0

    def next_call(self) -> Call[RunPage] | None:
        """Return the request for the next page, or None when there is nothing left to get."""
        if self._done:
            return None
        size = MAX_PAGE if self.remaining is None else min(self.remaining, MAX_PAGE)
        return list_runs(self.status, limit=size, before=self._before)

    def take(self, page: RunPage) -> list[RunRecord]:
        """Return the records of an answered page and remember where the next one starts."""
        runs = page["runs"]
        if self.remaining is not None:
            runs = runs[: self.remaining]
            self.remaining -= len(runs)
        self._before = page["next"]
        self.more = page["next"] is not None
        self._done = not self.more or self.remaining == 0
        return runs


def cancel_run(run_id: str) -> Call[RunRecord]:
    """``POST api/nebula/runs/{id}/cancel``; a finished run raises ``Conflict``."""
    return Call("POST", run_path(run_id, "cancel"), _record, body={})


def delete_run(run_id: str) -> Call[None]:
    """``DELETE api/nebula/runs/{id}``; an active run raises ``Conflict``."""
    return Call("DELETE", run_path(run_id), _nothing)


def run_logs(run_id: str, stream: str | None = None, *, follow: bool = False) -> Call[bytes]:
    """``GET api/nebula/runs/{id}/logs``: exact bytes, one stream or both in seq order."""
    query = {"stream": stream} if stream else {}
    if follow:
        query["follow"] = "1"
    return Call("GET", run_path(run_id, "logs"), _raw, query=query or None)


def stream_url(address: ServerAddress, run_id: str, after_seq: int) -> str:
    """Return the WebSocket URL of a run's stream, resuming after ``after_seq`` (CONTRACT §3)."""
    return address.ws_url(run_path(run_id, "stream"), {"after": str(after_seq)})
