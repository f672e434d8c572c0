"""The arguments of the public entry points, checked before any request is built or sent.

``nj.run(123)`` must say which argument is wrong from the caller's own line, not fail four
frames deep inside the client: :func:`checked` runs one check per argument name
(:data:`ARGUMENT_CHECKS`) and raises TypeError or ValueError naming the argument.
"""

from __future__ import annotations

import functools
import inspect
import math
import numbers
import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ParamSpec, TypeVar

from ..protocol import STATUSES, STREAM_LABELS
from .address import url_problem
from .calls import RunOptions

T = TypeVar("T")
P = ParamSpec("P")


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


def _executor(executor: object) -> str | None:
    if executor is None:
        return None
    if not isinstance(executor, str):
        raise TypeError(f"executor must be a name such as 'dask', not {_kind(executor)}")
    if not executor:
        raise ValueError("executor must not be empty (None means the server's default)")
    return _text(executor, "executor")


def _resources(resources: object) -> dict[str, float] | None:
    if resources is None:
        return None
    if not isinstance(resources, Mapping):
        raise TypeError(f"resources must be a mapping such as {{'GPU': 1}}, not {_kind(resources)}")
    checked = {}
    for key, value in resources.items():
        if not isinstance(key, str) or not key:
            raise TypeError(f"resources keys must be non-empty strings, not {key!r}")
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise TypeError(f"resources[{key!r}] must be a number, not {_kind(value)}")
        if not math.isfinite(value) or value <= 0:
            raise ValueError(f"resources[{key!r}] must be a positive number, not {value!r}")
        checked[_text(key, "resources key")] = float(value)
    return checked


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


def _optional_flag(what: str) -> Callable[[object], bool | None]:
    check = _flag(what)
    return lambda value: None if value is None else check(value)


def _url(url: object) -> str | None:
    if url is None:
        return None
    text = _text(url, "url")
    problem = url_problem(text) if text else None
    if problem is not None:
        raise ValueError(f"url is {problem}")
    return text


def _limit(limit: object) -> int | None:
    if limit is None:
        return None
    if not isinstance(limit, int) or isinstance(limit, bool):
        raise TypeError(f"limit must be an int (a number of runs) or None, not {_kind(limit)}")
    if limit < 1:
        raise ValueError(f"limit must be at least 1, or None for every run, not {limit}")
    return limit


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
    "limit": _limit,
    "follow": _flag("follow"),
    "tty": _optional_flag("tty"),
    "executor": _executor,
    "resources": _resources,
    "url": _url,
    "token": _token,
}
"""The check of each argument name the public entry points use (see :func:`checked`)."""
