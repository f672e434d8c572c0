"""The notebook-facing API (``nj.run``, ``Run``) and server discovery."""

from __future__ import annotations

import asyncio
import importlib
import json
import os
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from nebula_jupyter.api import Run, connect
from nebula_jupyter.api import run as start_run
from nebula_jupyter.api import runs as list_runs
from nebula_jupyter.client import (
    BadRequest,
    NebulaClient,
    OutputMessage,
    ServerUnavailable,
    StatusMessage,
)
from nebula_jupyter.client.discovery import discover

from ..support.jupyter import child

if TYPE_CHECKING:
    from ..support.client_fixtures import Server


# `nebula_jupyter.api` names both the module and the function; ask for the module itself.
runs_module = importlib.import_module("nebula_jupyter.api")

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _inside_the_server_root(jp_root_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Call the API from inside the server's root, as a notebook does: runs start where it is."""
    monkeypatch.chdir(jp_root_dir)


@pytest.fixture
def connected(server: Server) -> Iterator[NebulaClient]:
    """Point the module-level API at the test server, and forget it afterwards."""
    client = connect(server.url, server.token)
    yield client
    runs_module._default_client = None


# -- discovery ------------------------------------------------------------------------------


def no_servers() -> list[dict[str, Any]]:
    return []


def test_discovery_order() -> None:
    env = {
        "NEBULA_KERNEL_URL": "http://kernel:1/k/",
        "NEBULA_KERNEL_SECRET": "kernel-secret",
        "NEBULA_URL": "http://user:2/u",
        "NEBULA_TOKEN": "user-token",
    }
    explicit = discover("http://explicit:3/", "explicit-token", environ=env, servers=no_servers)
    assert (explicit.url, explicit.token, explicit.source) == (
        "http://explicit:3/",
        "explicit-token",
        "explicit",
    )
    kernel = discover(environ=env, servers=no_servers)
    assert (kernel.url, kernel.token, kernel.source) == (
        "http://kernel:1/k/",
        "kernel-secret",
        "kernel",
    )
    # Half of the kernel pair is ignored; the user's variables come next.
    user_env = {k: v for k, v in env.items() if k != "NEBULA_KERNEL_SECRET"}
    user = discover(environ=user_env, servers=no_servers)
    assert (user.url, user.token, user.source) == ("http://user:2/u/", "user-token", "environment")
    # An explicit URL without a token still takes the token from the environment.
    assert discover("http://explicit:3", environ=env, servers=no_servers).token == "user-token"
    # An explicit token wins over whichever URL is found.
    assert discover(token="mine", environ=env, servers=no_servers).token == "mine"


def test_discovery_failure_says_what_to_set() -> None:
    with pytest.raises(ServerUnavailable) as info:
        discover(environ={}, servers=no_servers)
    message = str(info.value)
    for hint in ("connect(url, token)", "NEBULA_URL", "NEBULA_TOKEN", "--url"):
        assert hint in message


def test_addresses_hide_tokens_and_keep_base_paths() -> None:
    address = discover("http://127.0.0.1:8888/a%40b", "s3cret-token", environ={})
    assert address.url == "http://127.0.0.1:8888/a%40b/"
    assert address.http_url("api/nebula/runs") == "http://127.0.0.1:8888/a%40b/api/nebula/runs"
    assert address.ws_url("x", {"after": "3"}) == "ws://127.0.0.1:8888/a%40b/x?after=3"
    assert "s3cret-token" not in repr(address)
    assert "s3cret-token" not in repr(NebulaClient(address=address))
    with pytest.raises(ValueError):
        discover("ftp://example.org/", environ={})


async def test_discovery_probes_running_servers(server: Server) -> None:
    dead = {"url": "http://127.0.0.1:9/", "token": "x"}
    unix = {"url": "http+unix://%2Ftmp%2Fsock/", "token": "x"}
    live = {"url": server.url, "token": server.token}
    address = await asyncio.to_thread(discover, environ={}, servers=lambda: [dead, unix, live])
    assert address.url == server.url and address.source == "running server"
    with pytest.raises(ServerUnavailable) as info:
        await asyncio.to_thread(discover, environ={}, servers=lambda: [dead])
    assert "127.0.0.1:9" in str(info.value) and "x" not in str(info.value).split("127.0.0.1")[0]


async def test_discovery_finds_the_real_running_server(server: Server) -> None:
    # pytest-jupyter's server wrote its jpserver-*.json into the test's runtime dir.
    address = await asyncio.to_thread(discover, environ={})
    assert address.source == "running server"
    assert address.url.endswith(f":{server.port}/a%40b/") and address.token == server.token


# -- the Run API ----------------------------------------------------------------------------


async def test_run_wait_logs_and_exit_code(connected: NebulaClient) -> None:
    run = await asyncio.to_thread(start_run, child("lines", 10), name="ten")
    assert isinstance(run, Run) and run.name == "ten"
    assert await asyncio.to_thread(run.wait, 20) is run
    assert run.status == "succeeded" and run.exit_code == 0 and run.done
    logs = await asyncio.to_thread(run.logs, "stdout")
    assert logs.splitlines() == [f"line {i}" for i in range(1, 11)]
    assert (await asyncio.to_thread(run.logs, "stderr")) == "err 10\n"
    assert "err 10" in await asyncio.to_thread(run.logs)
    assert (await asyncio.to_thread(lambda: run.record))["id"] == run.id

    failing = await asyncio.to_thread(start_run, "echo bad >&2; exit 3")
    await asyncio.to_thread(failing.wait, 20)
    assert failing.status == "failed" and failing.exit_code == 3

    listed = await asyncio.to_thread(list_runs)
    assert [r.id for r in listed][:2] == [failing.id, run.id]
    assert [r.id for r in await asyncio.to_thread(list_runs, "failed")] == [failing.id]
    again = await asyncio.to_thread(Run.get, run.id)
    assert again == run and again.exit_code == 0 and hash(again) == hash(run)


@pytest.mark.parametrize("run_executor", ["dask"], indirect=True)
async def test_run_on_a_dask_worker_with_resources(connected: NebulaClient) -> None:
    # CONTRACT §5 v2 keywords: the run lands on the worker that has a GPU.
    code = "import os; print(os.environ['NEBULA_WORKER'])"
    run = await asyncio.to_thread(
        start_run, [sys.executable, "-c", code], executor="dask", resources={"GPU": 1}
    )
    await asyncio.to_thread(run.wait, 60)
    record = await asyncio.to_thread(lambda: run.record)
    assert (record["status"], record["executor"]) == ("succeeded", "dask") and record["host"]
    assert await asyncio.to_thread(run.logs) == "gpu\n"


@pytest.mark.parametrize(
    ("options", "error"),
    [
        ({"executor": 3}, TypeError),
        ({"executor": ""}, ValueError),
        ({"resources": ["GPU"]}, TypeError),
        ({"resources": {"GPU": "one"}}, TypeError),
        ({"resources": {"GPU": 0}}, ValueError),
        ({"resources": {"GPU": float("nan")}}, ValueError),
    ],
)
def test_bad_executor_options_are_refused_before_any_request(
    options: dict[str, Any], error: type[Exception]
) -> None:
    with pytest.raises(error):
        start_run(["true"], **options)


async def test_run_with_cwd_and_env(connected: NebulaClient, jp_root_dir: Path) -> None:
    (jp_root_dir / "work").mkdir()
    run = await asyncio.to_thread(
        start_run, ["sh", "-c", 'echo "$COLOUR" && pwd'], cwd="work", env={"COLOUR": "teal"}
    )
    await asyncio.to_thread(run.wait, 20)
    text = await asyncio.to_thread(run.logs)
    assert text.splitlines() == ["teal", str((jp_root_dir / "work").resolve())]


PRINT_WHERE = "import os, sys; print(os.getcwd()); print(sys.prefix); print(sys.executable)"


async def test_run_starts_in_the_callers_folder_with_the_callers_python(
    connected: NebulaClient, jp_root_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    here = jp_root_dir / "notebooks" / "experiment"
    here.mkdir(parents=True)
    monkeypatch.chdir(here)
    # A PATH whose `python` is another one, as for a kernel of a venv the server did not start
    # in: the run must still get this Python (the server's children share this environment).
    this_folder = str(Path(sys.executable).parent)
    other = [p for p in os.environ["PATH"].split(os.pathsep) if p != this_folder]
    monkeypatch.setenv("PATH", os.pathsep.join(other))
    for command in (["python", "-c", PRINT_WHERE], f"python -c {shlex.quote(PRINT_WHERE)}"):
        run = await asyncio.to_thread(start_run, command)
        await asyncio.to_thread(run.wait, 20)
        where = (await asyncio.to_thread(run.logs, "stdout")).splitlines()
        assert where[:2] == [str(here.resolve()), sys.prefix], await asyncio.to_thread(run.logs)
        assert Path(where[2]).parent == Path(sys.executable).parent
        assert (await asyncio.to_thread(getattr, run, "record"))["cwd"] == "notebooks/experiment"


async def test_explicit_cwd_and_env_win(
    connected: NebulaClient, jp_root_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (jp_root_dir / "notebooks").mkdir()
    monkeypatch.chdir(jp_root_dir / "notebooks")
    script = 'pwd; echo "$PATH"'
    run = await asyncio.to_thread(start_run, script, cwd="", env={"PATH": "/usr/bin:/bin"})
    await asyncio.to_thread(run.wait, 20)
    assert (await asyncio.to_thread(run.logs)).splitlines() == [
        str(jp_root_dir.resolve()),
        "/usr/bin:/bin",
    ]
    as_path = await asyncio.to_thread(start_run, ["pwd"], cwd=jp_root_dir / "notebooks")
    await asyncio.to_thread(as_path.wait, 20)
    assert await asyncio.to_thread(as_path.logs) == f"{(jp_root_dir / 'notebooks').resolve()}\n"


async def test_run_outside_the_server_root_says_how_to_choose(
    connected: NebulaClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    monkeypatch.chdir(outside)
    before = await asyncio.to_thread(list_runs)
    with pytest.raises(BadRequest) as info:
        await asyncio.to_thread(start_run, ["true"])
    message = str(info.value)
    assert f"current folder {outside.resolve()} " in message and "cwd=" in message
    assert "root" in message and "\n" not in message
    assert await asyncio.to_thread(list_runs) == before  # nothing was started
    at_root = await asyncio.to_thread(start_run, ["true"], cwd="")
    assert (await asyncio.to_thread(at_root.wait, 20)).exit_code == 0


async def test_logs_decode_invalid_bytes_with_replacement(connected: NebulaClient) -> None:
    run = await asyncio.to_thread(start_run, child("write_bytes", "out:6869ff0a"))
    await asyncio.to_thread(run.wait, 20)
    assert await asyncio.to_thread(run.logs) == "hi\ufffd\n"


async def test_cancel_wait_timeout_and_follow(connected: NebulaClient) -> None:
    run = await asyncio.to_thread(start_run, child("lines", 1000, 0.02))
    with pytest.raises(TimeoutError, match=run.id):
        await asyncio.to_thread(run.wait, 0.3)
    events: list[Any] = []

    def follow_then_cancel() -> None:
        for event in run.follow():
            events.append(event)
            if isinstance(event, OutputMessage) and event.seq >= 3 and len(events) < 100:
                run.cancel()

    await asyncio.wait_for(asyncio.to_thread(follow_then_cancel), 20)
    statuses = [e for e in events if isinstance(e, StatusMessage)]
    assert statuses[-1].status == "cancelled" and events[-1] is statuses[-1]
    assert any(s.run.get("cancel_requested") for s in statuses)
    assert run.status == "cancelled"
    # Cancelling a finished run is not an error from Python.
    assert await asyncio.to_thread(run.cancel) is run


async def test_repr_and_display(connected: NebulaClient, monkeypatch: pytest.MonkeyPatch) -> None:
    run = await asyncio.to_thread(start_run, ["sh", "-c", "exit 4"], name="four")
    await asyncio.to_thread(run.wait, 20)
    text = await asyncio.to_thread(repr, run)
    assert text == f"Run(id={run.id!r}, name='four', status='failed', exit_code=4)"
    assert connected.address.token not in text
    # Without the widget stack, the display falls back to text.
    monkeypatch.setitem(sys.modules, "nebula_jupyter.widget", None)
    bundle = await asyncio.to_thread(run._repr_mimebundle_)
    assert bundle == {"text/plain": f"run {run.id} (four) failed exit code 4"}


async def test_display_uses_the_widget_when_available(connected: NebulaClient) -> None:
    pytest.importorskip("nebula_jupyter.widget")
    run = await asyncio.to_thread(start_run, ["true"])
    bundle = await asyncio.to_thread(run._repr_mimebundle_)
    data = bundle[0] if isinstance(bundle, tuple) else bundle
    assert "application/vnd.jupyter.widget-view+json" in data


async def test_blocking_api_works_inside_a_running_event_loop(connected: NebulaClient) -> None:
    async def like_a_notebook_cell() -> tuple[int | None, str]:
        # A kernel runs cells with its event loop running: the API must not need the loop.
        started = start_run(child("lines", 3)).wait(20)
        return started.exit_code, started.logs("stdout")

    code, out = await asyncio.to_thread(asyncio.run, like_a_notebook_cell())
    assert code == 0 and out == "line 1\nline 2\nline 3\n"


async def test_unconfigured_api_uses_the_kernel_environment(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    runs_module._default_client = None
    monkeypatch.setenv("NEBULA_KERNEL_URL", server.url)
    monkeypatch.setenv("NEBULA_KERNEL_SECRET", os.environ.get("NEBULA_KERNEL_SECRET", "x"))
    try:
        run = await asyncio.to_thread(start_run, ["true"])
        assert (await asyncio.to_thread(run.wait, 20)).exit_code == 0
        assert runs_module._client().address.source == "kernel"
    finally:
        runs_module._default_client = None


def test_public_names_survive_importing_the_server() -> None:
    # In one process with the server (tests, or code run inside the server), importing the
    # server's modules must not replace the public functions `nj.run` and `nj.runs`.
    code = (
        "import nebula_jupyter as nj, nebula_jupyter.server.app, nebula_jupyter.api; "
        "print(callable(nj.run) and callable(nj.runs))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO_ROOT
    )
    assert out.stdout.strip() == "True"


def test_import_stays_light_and_names_resolve() -> None:
    code = """
import json, sys
import nebula_jupyter as nj
nj.run, nj.Run, nj.connect
callable_runs = callable(nj.runs)
heavy = sorted({m.split('.')[0] for m in sys.modules} & {
    'anywidget', 'ipywidgets', 'jupyter_server', 'IPython', 'ipykernel'})
print(json.dumps({'heavy': heavy, 'callable_runs': callable_runs}))
"""
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO_ROOT,
    )
    assert json.loads(out.stdout) == {"heavy": [], "callable_runs": True}
