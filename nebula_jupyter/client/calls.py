"""What to send for each REST endpoint and how to read the answer, with no I/O (CONTRACT §2).

One builder per endpoint returns a :class:`Call`: method, path, query, JSON body, and the
parser of a successful answer. The blocking driver (``sync.py``) and the asyncio driver
(``aio.py``) only send calls and hand the answer back to :meth:`Call.parse`, so the two clients
cannot drift apart (the idea of httpx's ``BaseClient.build_request``).

Two more things every entry point shares live here, beside what they shape: :func:`checked`,
which checks the arguments of the public methods and functions (``nj.run``, the clients) before
any request, and :func:`create_here`, the one place where ``nj.run`` and ``nebula run`` take
the caller's folder and ``PATH`` as the run's defaults.
"""

from __future__ import annotations

import functools
import inspect
import json
import math
import numbers
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, ParamSpec, TypedDict, TypeVar, Unpack
from urllib.parse import quote

from ..protocol import STATUSES, STREAM_LABELS, RunRecord
from .address import ServerAddress, url_problem
from .errors import BadRequest, NebulaError, check

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

    ``name``: a label. ``cwd``: working directory, relative to the server's root or absolute
    inside it. ``env``: variables over the server's child environment.
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
    status = _status(status)
    return Call("GET", run_path(), _records, query={"status": status} if status else None)


def cancel_run(run_id: str) -> Call[RunRecord]:
    """``POST api/nebula/runs/{id}/cancel``; a finished run raises ``Conflict``."""
    return Call("POST", run_path(run_id, "cancel"), _record, body={})


def delete_run(run_id: str) -> Call[None]:
    """``DELETE api/nebula/runs/{id}``; an active run raises ``Conflict``."""
    return Call("DELETE", run_path(run_id), _nothing)


def run_logs(run_id: str, stream: str | None = None, *, follow: bool = False) -> Call[bytes]:
    """``GET api/nebula/runs/{id}/logs``: exact bytes, one stream or both in seq order."""
    stream = _stream(stream)
    query = {"stream": stream} if stream else {}
    if follow:
        query["follow"] = "1"
    return Call("GET", run_path(run_id, "logs"), _raw, query=query or None)


def stream_url(address: ServerAddress, run_id: str, after_seq: int) -> str:
    """Return the WebSocket URL of a run's stream, resuming after ``after_seq`` (CONTRACT §3)."""
    return address.ws_url(run_path(run_id, "stream"), {"after": str(after_seq)})


# -- where the caller is: the defaults of `nebula run` and `nj.run` ---------------------------


def create_here(
    create: Callable[..., RunRecord],
    command: Command,
    options: RunOptions,
    *,
    how_to_choose: str,
    python: str | None = None,
) -> RunRecord:
    """Start a run as if from the caller's shell, with ``create`` (a client's ``create``).

    What ``options`` leave out is taken from the caller: ``cwd`` is the current folder (the
    server accepts it when it lies inside its root) and ``env`` gets the caller's ``PATH``,
    with ``python``'s folder first when given, unless ``env`` sets ``PATH`` itself. An explicit
    ``cwd`` (``""`` is the server's root) or ``PATH`` always wins. When the server refuses the
    current folder, the error names it and ends with ``how_to_choose``, the caller's way to
    pick another.
    """
    sent: RunOptions = {**options}
    folder = None
    if sent.get("cwd") is None:
        try:
            folder = sent["cwd"] = os.getcwd()
        except OSError as exc:
            raise NebulaError(
                f"the current folder is gone ({exc.strerror}); {how_to_choose}"
            ) from None
    sent["env"] = caller_env(sent.get("env"), python=python)
    try:
        return create(command, **sent)
    except (BadRequest, ValueError) as exc:
        if folder is None or not re.search(r"\bcwd\b|working dir", str(exc)):
            raise  # not about the folder we chose
        reason = (str(exc).partition("HTTP 400: ")[2] or str(exc)).rstrip(". ")
        error = BadRequest(
            f"cannot start the run in the current folder {folder} ({reason}); {how_to_choose}",
            status=getattr(exc, "status", None),
        )
    raise error


def caller_env(
    env: Mapping[str, str] | None,
    *,
    python: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> dict[str, str] | None:
    """Return ``env`` plus the caller's ``PATH`` (``python``'s folder first), unless it has one."""
    sent = dict(env or {})
    if "PATH" not in sent:
        path = (os.environ if environ is None else environ).get("PATH")
        folders = [] if path is None else path.split(os.pathsep)
        first = os.path.dirname(python) if python else ""
        if first and folders[:1] != [first]:
            folders.insert(0, first)
        if folders:
            sent["PATH"] = os.pathsep.join(folders)
    return sent or None


# -- the arguments of the public entry points -------------------------------------------------


def checked(func: Callable[P, T]) -> Callable[P, T]:
    """Check the arguments of a public entry point by their names, before it runs.

    A wrong argument raises TypeError or ValueError naming it, from this one frame: the
    caller's traceback shows their own line and the check, not the client's insides. The
    checks (:data:`ARGUMENT_CHECKS`) also normalise: a tuple command becomes a list, a Path
    ``cwd`` a string, a mapping ``env`` a dict.
    """
    signature = inspect.signature(func)
    checks = {
        name: ARGUMENT_CHECKS[name] for name in signature.parameters if name in ARGUMENT_CHECKS
    }

    @functools.wraps(func)
    def checking_arguments(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            bound = signature.bind(*args, **kwargs)
        except TypeError:
            bound = None
        if bound is None:
            return func(*args, **kwargs)  # a call that does not fit: Python's own message
        problem: Exception | None = None
        try:
            for name, value in bound.arguments.items():
                if name in checks:
                    bound.arguments[name] = checks[name](value)
        except (TypeError, ValueError) as exc:
            problem = exc
        if problem is not None:
            raise problem.with_traceback(None)  # from the caller's line: see the message
        return func(*bound.args, **bound.kwargs)

    return checking_arguments


def _kind(value: object) -> str:
    return type(value).__name__


def _text(value: object, what: str, *, empty: bool = True) -> str:
    """Return ``value`` if it is text a run can be given, else raise naming ``what``."""
    if not isinstance(value, str):
        raise TypeError(f"{what} must be a string, not {_kind(value)}")
    if not empty and not value.strip():
        raise ValueError(f"{what} must not be empty")
    if "\0" in value:
        raise ValueError(f"{what} must not contain NUL characters")
    if not _encodable(value):
        raise ValueError(
            f"{what} is not valid Unicode text (a lone surrogate, e.g. from undecodable bytes)"
        )
    return value


def _encodable(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _command(command: object) -> list[str] | str:
    if isinstance(command, str):
        return _text(command, "command", empty=False)
    if not isinstance(command, Sequence) or isinstance(command, bytes | bytearray):
        raise TypeError(
            f"command must be a list of strings or a shell string, not {_kind(command)}"
        )
    if not command:
        raise ValueError("command must not be empty")
    parts = [_text(part, f"command[{index}]") for index, part in enumerate(command)]
    if not parts[0]:
        raise ValueError("command[0] must name a program, not ''")
    return parts


def _name(name: object) -> str | None:
    return None if name is None else _text(name, "name")


def _cwd(cwd: object) -> str | None:
    if cwd is None:
        return None
    if not isinstance(cwd, str | os.PathLike):
        raise TypeError(f"cwd must be a path (str or os.PathLike) or None, not {_kind(cwd)}")
    return _text(os.fspath(cwd), "cwd")


def _env(env: object) -> dict[str, str] | None:
    if env is None:
        return None
    if not isinstance(env, Mapping):
        raise TypeError(f"env must be a mapping of strings to strings, not {_kind(env)}")
    checked_env = {}
    for key, value in env.items():
        if not isinstance(key, str):
            raise TypeError(f"env keys must be strings, not {_kind(key)}: {key!r}")
        if not key or "=" in key:
            raise ValueError(f"env key {key!r} is not a variable name (empty or with '=')")
        checked_env[_text(key, "env key")] = _text(value, f"env[{key!r}]")
    return checked_env


def _run_options(options: object) -> RunOptions:
    assert isinstance(options, dict)  # the **options of an entry point
    known = RunOptions.__optional_keys__
    for key in options:
        if key not in known:
            raise TypeError(
                f"got an unexpected keyword argument {key!r}; "
                f"a run's options are {', '.join(sorted(known))}"
            )
    checked_options = {
        key: ARGUMENT_CHECKS[key](value) if key in ARGUMENT_CHECKS else value
        for key, value in options.items()
    }
    return checked_options  # type: ignore[return-value]


def _choice(what: str, choices: Sequence[str]) -> Callable[[object], str | None]:
    listed = ", ".join(repr(choice) for choice in choices)

    def check(value: object) -> str | None:
        if value is None or (isinstance(value, str) and value in choices):
            return value
        error = ValueError if isinstance(value, str) else TypeError
        raise error(f"{what} must be one of {listed} or None, not {value!r}")

    return check


_status = _choice("status", sorted(STATUSES))
_stream = _choice("stream", STREAM_LABELS)


def _timeout(timeout: object) -> float | None:
    """``None`` (no limit) or a number of seconds, 0 included (do not wait)."""
    if timeout is None:
        return None
    seconds = _number(timeout, "timeout", "a number of seconds or None")
    if not seconds >= 0:  # NaN too
        raise ValueError(
            f"timeout must be a number of seconds (0 or more) or None, not {timeout!r}"
        )
    return seconds


def _positive_seconds(what: str) -> Callable[[object], float]:
    def check(value: object) -> float:
        seconds = _number(value, what, "a number of seconds")
        if not 0 < seconds < math.inf:
            raise ValueError(f"{what} must be a number of seconds above 0, not {value!r}")
        return seconds

    return check


def _number(value: object, what: str, expected: str) -> float:
    if not isinstance(value, numbers.Real) or isinstance(value, bool):
        raise TypeError(f"{what} must be {expected}, not {_kind(value)}")
    return float(value)


def _run_id(run_id: object) -> str:
    return _text(run_id, "run_id", empty=False)


def _after(after: object) -> int:
    if not isinstance(after, int) or isinstance(after, bool):
        raise TypeError(f"after must be an int (a seq number), not {_kind(after)}")
    if after < 0:
        raise ValueError(f"after must not be negative, not {after}")
    return after


def _flag(what: str) -> Callable[[object], bool]:
    def check(value: object) -> bool:
        if not isinstance(value, bool):
            raise TypeError(f"{what} must be True or False, not {_kind(value)}")
        return value

    return check


def _url(url: object) -> str | None:
    if url is None:
        return None
    text = _text(url, "url")
    problem = url_problem(text) if text else None
    if problem is not None:
        raise ValueError(f"url is {problem}")
    return text


def _token(token: object) -> str | None:
    return None if token is None else _text(token, "token")


ARGUMENT_CHECKS: dict[str, Callable[[Any], Any]] = {
    "command": _command,
    "name": _name,
    "cwd": _cwd,
    "env": _env,
    "options": _run_options,
    "status": _status,
    "stream": _stream,
    "timeout": _timeout,
    "timeout_seconds": _positive_seconds("timeout_seconds"),
    "reconnect_seconds": _positive_seconds("reconnect_seconds"),
    "run_id": _run_id,
    "after": _after,
    "follow": _flag("follow"),
    "url": _url,
    "token": _token,
}
"""The check of each argument name the public entry points use (see :func:`checked`)."""
