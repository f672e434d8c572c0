"""Misused public entry points say which argument is wrong, from the caller's own line.

No server is needed: a wrong argument is refused before any request, and the client here
points at a closed port, so a call that got through would raise ServerUnavailable instead.
"""

from __future__ import annotations

import importlib
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import nebula_jupyter
import nebula_jupyter as nj
from nebula_jupyter.client import AsyncNebulaClient, NebulaClient, ServerUnavailable

api_module = importlib.import_module("nebula_jupyter.api")
PACKAGE = Path(nebula_jupyter.__file__).resolve().parent
NOWHERE = "http://127.0.0.1:9/"  # the discard port: nothing listens there


@pytest.fixture(autouse=True)
def unreachable() -> Iterator[NebulaClient]:
    """Make the notebook API use a client of a closed port (no discovery, no server)."""
    client = NebulaClient(NOWHERE, "t", timeout_seconds=2)
    api_module._default_client = client
    yield client
    api_module._default_client = None


def client() -> NebulaClient:
    return NebulaClient(NOWHERE, "t", timeout_seconds=2)


def a_run() -> nj.Run:
    return nj.Run({"id": "abc", "status": "running"}, client())  # type: ignore[typeddict-item]


BAD_CALLS = [
    pytest.param(
        lambda: nj.run(123),
        TypeError,
        "command must be a list of strings or a shell string, not int",
        id="run-int",
    ),
    pytest.param(
        lambda: nj.run(b"ls"),
        TypeError,
        "command must be a list of strings or a shell string, not bytes",
        id="run-bytes",
    ),
    pytest.param(
        lambda: nj.run({"ls": "-l"}),
        TypeError,
        "command must be a list of strings or a shell string, not dict",
        id="run-dict",
    ),
    pytest.param(
        lambda: nj.run(p for p in ["ls"]),
        TypeError,
        "command must be a list of strings or a shell string, not generator",
        id="run-generator",
    ),
    pytest.param(
        lambda: nj.run("  "), ValueError, "command must not be empty", id="run-empty-string"
    ),
    pytest.param(lambda: nj.run([]), ValueError, "command must not be empty", id="run-empty-list"),
    pytest.param(
        lambda: nj.run(["ls", 3]), TypeError, "command[1] must be a string, not int", id="run-part"
    ),
    pytest.param(
        lambda: nj.run(["", "x"]), ValueError, "command[0] must name a program", id="run-no-program"
    ),
    pytest.param(
        lambda: nj.run(["ls\0"]), ValueError, "command[0] must not contain NUL", id="run-nul"
    ),
    pytest.param(
        lambda: nj.run("cat \udcff"), ValueError, "command is not valid Unicode", id="run-surrogate"
    ),
    pytest.param(
        lambda: nj.run(["ls"], name=5), TypeError, "name must be a string, not int", id="run-name"
    ),
    pytest.param(
        lambda: nj.run(["ls"], cwd=5),
        TypeError,
        "cwd must be a path (str or os.PathLike) or None, not int",
        id="run-cwd",
    ),
    pytest.param(
        lambda: nj.run(["ls"], cwd=b"/x"), TypeError, "cwd must be a path", id="run-cwd-bytes"
    ),
    pytest.param(
        lambda: nj.run(["ls"], env=["A=1"]),
        TypeError,
        "env must be a mapping of strings to strings, not list",
        id="run-env-list",
    ),
    pytest.param(
        lambda: nj.run(["ls"], env={"A": 1}),
        TypeError,
        "env['A'] must be a string, not int",
        id="run-env-value",
    ),
    pytest.param(
        lambda: nj.run(["ls"], env={1: "x"}),
        TypeError,
        "env keys must be strings, not int",
        id="run-env-key",
    ),
    pytest.param(
        lambda: nj.run(["ls"], env={"A=B": "x"}),
        ValueError,
        "env key 'A=B' is not a variable name",
        id="run-env-name",
    ),
    pytest.param(
        lambda: nj.run(["ls"], nmae="x"),
        TypeError,
        "unexpected keyword argument 'nmae'",
        id="run-unknown-option",
    ),
    pytest.param(
        lambda: nj.run(),
        TypeError,
        "missing 1 required positional argument: 'command'",
        id="run-no-command",
    ),
    pytest.param(
        lambda: nj.runs("done"),
        ValueError,
        "status must be one of 'cancelled', 'failed', 'queued', 'running', 'succeeded' or None, "
        "not 'done'",
        id="runs-status",
    ),
    pytest.param(lambda: nj.runs(1), TypeError, "status must be one of", id="runs-status-type"),
    pytest.param(
        lambda: nj.Run.get(5), TypeError, "run_id must be a string, not int", id="get-int"
    ),
    pytest.param(lambda: nj.Run.get(""), ValueError, "run_id must not be empty", id="get-empty"),
    pytest.param(
        lambda: a_run().wait(-1),
        ValueError,
        "timeout must be a number of seconds (0 or more) or None, not -1",
        id="wait-negative",
    ),
    pytest.param(lambda: a_run().wait(float("nan")), ValueError, "timeout must be", id="wait-nan"),
    pytest.param(
        lambda: a_run().wait("10"),
        TypeError,
        "timeout must be a number of seconds or None, not str",
        id="wait-string",
    ),
    pytest.param(
        lambda: a_run().wait(True),
        TypeError,
        "timeout must be a number of seconds or None, not bool",
        id="wait-bool",
    ),
    pytest.param(
        lambda: a_run().logs("both"),
        ValueError,
        "stream must be one of 'stdout', 'stderr' or None, not 'both'",
        id="logs-stream",
    ),
    pytest.param(
        lambda: a_run().follow(-1), ValueError, "after must not be negative", id="follow-after"
    ),
    pytest.param(
        lambda: nj.connect("ftp://example.org/"),
        ValueError,
        "url is not an http(s) server URL",
        id="connect-url",
    ),
    pytest.param(
        lambda: nj.connect(5), TypeError, "url must be a string, not int", id="connect-url-type"
    ),
    pytest.param(
        lambda: nj.connect(NOWHERE, timeout_seconds=0),
        ValueError,
        "timeout_seconds must be a number of seconds above 0",
        id="connect-timeout",
    ),
    pytest.param(
        lambda: NebulaClient(NOWHERE, token=5),
        TypeError,
        "token must be a string, not int",
        id="client-token",
    ),
    pytest.param(
        lambda: NebulaClient(NOWHERE, reconnect_seconds="5"),
        TypeError,
        "reconnect_seconds must be a number of seconds, not str",
        id="client-reconnect",
    ),
    pytest.param(
        lambda: client().create(123),
        TypeError,
        "command must be a list of strings or a shell string, not int",
        id="create-int",
    ),
    pytest.param(
        lambda: client().create(["ls"], colour="red"),
        TypeError,
        "unexpected keyword argument 'colour'; "
        "a run's options are cwd, env, executor, name, resources, tty",
        id="create-option",
    ),
    pytest.param(
        lambda: client().get(None),
        TypeError,
        "run_id must be a string, not NoneType",
        id="get-none",
    ),
    pytest.param(
        lambda: client().list("done"), ValueError, "status must be one of", id="list-status"
    ),
    pytest.param(
        lambda: client().cancel(7), TypeError, "run_id must be a string, not int", id="cancel-int"
    ),
    pytest.param(
        lambda: client().delete(["x"]),
        TypeError,
        "run_id must be a string, not list",
        id="delete-list",
    ),
    pytest.param(
        lambda: client().logs(5), TypeError, "run_id must be a string, not int", id="logs-run-id"
    ),
    pytest.param(
        lambda: client().logs("x", "both"),
        ValueError,
        "stream must be one of",
        id="logs-stream-client",
    ),
    pytest.param(
        lambda: client().stream_logs("x", "nope"),
        ValueError,
        "stream must be one of",
        id="stream-logs",
    ),
    pytest.param(
        lambda: client().stream_logs("x", follow="yes"),
        TypeError,
        "follow must be True or False, not str",
        id="stream-logs-follow",
    ),
    pytest.param(
        lambda: client().follow("x", after="3"),
        TypeError,
        "after must be an int (a seq number), not str",
        id="client-follow",
    ),
    pytest.param(
        lambda: client().wait("x", -5),
        ValueError,
        "timeout must be a number of seconds (0 or more)",
        id="client-wait",
    ),
]


def assert_raised_at_the_callers_line(error: BaseException) -> None:
    """The traceback runs from this file to at most one frame of nebula_jupyter, and stops."""
    frames = traceback.extract_tb(error.__traceback__)
    inside = [f for f in frames if Path(f.filename).resolve().is_relative_to(PACKAGE)]
    outside = [f for f in frames if f not in inside]
    assert len(inside) <= 1, traceback.format_exception(error)
    assert frames[: len(outside)] == outside  # the nebula frame, if any, is the deepest
    assert all(f.filename == __file__ for f in outside), traceback.format_exception(error)
    assert error.__cause__ is None and (error.__context__ is None or error.__suppress_context__)


@pytest.mark.parametrize(("call", "kind", "message"), BAD_CALLS)
def test_bad_arguments_are_named_from_the_callers_line(
    call: Callable[[], Any], kind: type[Exception], message: str
) -> None:
    with pytest.raises(kind) as info:
        call()
    assert message in str(info.value)
    assert_raised_at_the_callers_line(info.value)


def test_the_traceback_of_nj_run_123_is_two_frames() -> None:
    try:
        nj.run(123)  # type: ignore[arg-type]
    except TypeError as error:
        shown = traceback.format_exception(error)
    else:
        raise AssertionError("nj.run(123) did not raise")
    frames = [line for line in shown if line.startswith("  File ")]
    assert len(frames) == 2 and __file__ in frames[0] and "nebula_jupyter" in frames[1]
    assert "nj.run(123)" in "".join(shown)
    assert shown[-1] == "TypeError: command must be a list of strings or a shell string, not int\n"


async def test_the_asyncio_client_refuses_bad_arguments_at_the_call() -> None:
    aio = AsyncNebulaClient(NOWHERE, "t", timeout_seconds=2)
    with pytest.raises(TypeError, match=r"command must be a list of strings") as info:
        await aio.create(123)  # type: ignore[arg-type]
    assert_raised_at_the_callers_line(info.value)
    with pytest.raises(ValueError, match="timeout must be") as waiting:
        await aio.wait("x", -1)
    assert_raised_at_the_callers_line(waiting.value)
    with pytest.raises(ValueError, match="stream must be one of"):
        aio.stream_logs("x", "both")  # refused on the call, before any iteration
    with pytest.raises(TypeError, match="after must be an int"):
        aio.follow("x", after=None)  # type: ignore[arg-type]


def test_good_arguments_get_through_and_are_normalised(unreachable: NebulaClient) -> None:
    # Each of these reaches the network (and finds nothing there): the checks let it pass.
    calls: list[Callable[[], Any]] = [
        lambda: nj.run(("python", "-c", "pass"), cwd=Path("sub"), env={"A": "1"}),
        lambda: nj.run("echo hi", name=None, cwd=None, env=None),
        lambda: nj.runs("running"),
        lambda: nj.Run.get("abc"),
        lambda: a_run().wait(0),
        lambda: a_run().logs("stderr"),
        lambda: unreachable.list(None),
    ]
    for call in calls:
        with pytest.raises(ServerUnavailable):
            call()
