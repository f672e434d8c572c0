"""Terminal mode (CONTRACT §1.1, §3 v2): a real pty for stdin+stdout, stderr its own pipe."""

from __future__ import annotations

import dataclasses
import json
import random
import sys
from pathlib import Path
from typing import Any

import pytest
from tornado.websocket import WebSocketClientConnection

from nebula_jupyter.server.errors import NotATty, RunConflict

from ..support.authorizers import DenyingAuthorizer, deny
from ..support.dask_cluster import dask_server_config
from ..support.jupyter import Api, both_executors, read_all
from ..support.processes import running
from ..support.waiting import wait_for


@pytest.fixture
def jp_server_config(
    nebula_config: dict[str, Any], tmp_path: Path, run_executor: str, request: pytest.FixtureRequest
) -> dict[str, Any]:
    deny()
    config: dict[str, Any] = {
        "ServerApp": {
            "jpserver_extensions": {"nebula_jupyter": True},
            "authorizer_class": DenyingAuthorizer,
        },
        "NebulaApp": {"data_dir": str(tmp_path / "nebula-data"), **nebula_config},
    }
    if run_executor == "dask":
        dask_server_config(config, request.getfixturevalue("shared_dask_cluster"))
    return config


async def output_messages(api: Api, run_id: str) -> list[dict[str, Any]]:
    messages = await read_all(await api.connect(run_id))
    assert messages[-1]["type"] == "status" and messages[-1]["status"] in ("succeeded", "failed")
    return [m for m in messages if m["type"] in ("stdout", "stderr")]


async def next_of(ws: WebSocketClientConnection, kind: str) -> dict[str, Any]:
    while (raw := await ws.read_message()) is not None:
        message = json.loads(raw)
        if message["type"] == kind:
            return message
    raise AssertionError(f"the socket closed before a {kind!r} message")


async def typed(ws: WebSocketClientConnection, data: str) -> None:
    await ws.write_message(json.dumps({"type": "stdin", "data": data}))


PACED = {
    "perl": ["perl", "-e", "for (1..4) { print qq(line $_\\n); select(undef, undef, undef, 0.3) }"],
    "grep": "for i in 1 2 3 4; do echo line $i; sleep 0.3; done | grep line",
}


@pytest.mark.parametrize("program", PACED)
async def test_block_buffering_programs_stream_line_by_line(api: Api, program: str) -> None:
    record = await api.create(PACED[program], tty=True)
    assert record["tty"] is True
    ws = await api.connect(record["id"])
    first = await next_of(ws, "stdout")
    # The first line arrives while the program still runs: it was not held in a buffer.
    assert first["data"] == "line 1\n"
    assert (await api.get(record["id"]))["status"] == "running"
    rest = [m for m in await read_all(ws) if m["type"] == "stdout"]
    assert [m["data"] for m in rest] == ["line 2\n", "line 3\n", "line 4\n"]


async def test_without_tty_the_same_program_buffers(api: Api) -> None:
    record = await api.create(PACED["perl"])
    outputs = await output_messages(api, record["id"])
    assert [m["data"] for m in outputs] == ["line 1\nline 2\nline 3\nline 4\n"]


@both_executors
async def test_stdout_is_a_terminal_and_stderr_a_pipe(api: Api) -> None:
    code = "import sys; print(sys.stdout.isatty(), sys.stderr.isatty())"
    record = await api.create([sys.executable, "-c", code], tty=True)
    await api.wait_done(record["id"])
    assert await api.logs(record["id"], stream="stdout") == b"True False\n"


@both_executors
async def test_exact_bytes_and_separate_streams_in_seq_order(api: Api) -> None:
    code = (
        "import os, time; os.write(1, b'a\\nb\\r\\nc\\x00\\xff\\n'); time.sleep(0.2);"
        "os.write(2, b'err\\n'); time.sleep(0.2); os.write(1, b'end\\n')"
    )
    record = await api.create([sys.executable, "-c", code], tty=True)
    outputs = await output_messages(api, record["id"])
    assert await api.logs(record["id"], stream="stdout") == b"a\nb\r\nc\x00\xff\nend\n"
    assert await api.logs(record["id"], stream="stderr") == b"err\n"
    assert [m["type"] for m in outputs] == ["stdout", "stderr", "stdout"]
    seqs = [m["seq"] for m in outputs]
    assert seqs == sorted(seqs)


@both_executors
async def test_a_megabyte_written_at_exit_is_all_stored(api: Api) -> None:
    code = "import sys; sys.stdout.write('x' * 1_000_000)"
    record = await api.create([sys.executable, "-c", code], tty=True)
    done = await api.wait_done(record["id"])
    assert done["status"] == "succeeded" and done["stdout_bytes"] == 1_000_000


@both_executors
async def test_input_and_resize_reach_the_program(api: Api) -> None:
    record = await api.create(
        "echo ready; read x; echo got $x; read y; stty size; tput cols", tty=True
    )
    ws = await api.connect(record["id"])
    await api.wait_output(record["id"], b"ready")  # a remote run is queued until it starts
    await typed(ws, "hello\r")
    await api.wait_output(record["id"], b"got hello")
    await ws.write_message(json.dumps({"type": "resize", "cols": 132, "rows": 40}))
    await typed(ws, "\r")
    done = await api.wait_done(record["id"])
    assert done["status"] == "succeeded"
    stdout = await api.logs(record["id"], stream="stdout")
    assert b"got hello" in stdout and stdout.endswith(b"40 132\n132\n")


@both_executors
async def test_ctrl_c_interrupts_the_program_not_the_run(api: Api) -> None:
    code = (
        "import time\nprint('waiting', flush=True)\n"
        "try:\n    time.sleep(30)\nexcept KeyboardInterrupt:\n    print('interrupted')\n"
    )
    record = await api.create([sys.executable, "-c", code], tty=True)
    ws = await api.connect(record["id"])
    await api.wait_output(record["id"], b"waiting")
    await typed(ws, "\x03")
    done = await api.wait_done(record["id"])
    assert (done["status"], done["cancel_requested"]) == ("succeeded", False)
    assert b"interrupted" in await api.logs(record["id"])


async def test_bad_input_messages_get_errors_and_the_socket_stays_open(api: Api) -> None:
    record = await api.create("read x; echo got $x", tty=True)
    ws = await api.connect(record["id"])
    for bad in (
        {"type": "resize", "cols": 0, "rows": 24},
        {"type": "resize", "cols": 80, "rows": 1001},
        {"type": "stdin", "data": "x" * 20_000},
        {"type": "stdin", "data": 5},
    ):
        await ws.write_message(json.dumps(bad))
        assert (await next_of(ws, "error"))["code"] == "bad_message"
    await typed(ws, "still here\r")
    await api.wait_output(record["id"], b"got still here")


async def test_input_to_a_run_without_tty_or_after_its_end(api: Api, manager: Any) -> None:
    plain = await api.create(["sleep", "5"])
    ws = await api.connect(plain["id"])
    await typed(ws, "x")
    assert (await next_of(ws, "error"))["code"] == "not_a_tty"
    await ws.write_message(json.dumps({"type": "resize", "cols": 80, "rows": 24}))
    assert (await next_of(ws, "error"))["code"] == "not_a_tty"
    await api.request("POST", "runs", plain["id"], "cancel", body={})

    # A finished run's socket closes after its terminal status; the manager refuses input.
    ended = await api.create("echo done", tty=True)
    await api.wait_done(ended["id"])
    with pytest.raises(RunConflict):
        manager.send_input(ended["id"], "late\r")
    with pytest.raises(NotATty):
        manager.resize(plain["id"], 80, 24)


async def test_a_read_only_viewer_cannot_type(api: Api) -> None:
    record = await api.create("read x; echo got $x", tty=True)
    ws = await api.connect(record["id"])
    deny("execute")
    await typed(ws, "sneaky\r")
    assert (await next_of(ws, "error"))["code"] == "forbidden"
    await ws.write_message(json.dumps({"type": "resize", "cols": 100, "rows": 30}))
    assert (await next_of(ws, "error"))["code"] == "forbidden"
    deny()
    await typed(ws, "allowed\r")
    await api.wait_output(record["id"], b"got allowed")


async def test_a_flood_of_input_is_refused_not_dropped_and_never_blocks(api: Api) -> None:
    record = await api.create(["sleep", "30"], tty=True)  # never reads its input
    ws = await api.connect(record["id"])
    await next_of(ws, "status")
    chunk = "y" * 16_000
    for _ in range(20):
        await typed(ws, chunk)
    error = await next_of(ws, "error")
    assert error["code"] == "input_full"
    # The server stayed responsive meanwhile.
    assert (await api.get(record["id"]))["status"] == "running"
    await api.request("POST", "runs", record["id"], "cancel", body={})


@both_executors
async def test_cancel_of_a_tty_run_kills_its_tree(api: Api) -> None:
    seconds = [str(random.randint(100_000, 999_999)) for _ in range(2)]
    record = await api.create(f"sleep {seconds[0]} & sleep {seconds[1]}", tty=True)
    await wait_for(lambda: all(running("sleep", s) for s in seconds), 10)
    await api.request("POST", "runs", record["id"], "cancel", body={})
    assert (await api.wait_done(record["id"]))["status"] == "cancelled"
    await wait_for(lambda: not any(running("sleep", s) for s in seconds), 5)


async def test_tty_must_be_a_boolean_and_executors_are_checked(api: Api) -> None:
    from tornado.httpclient import HTTPClientError

    for body in (
        {"command": ["true"], "tty": "yes"},
        {"command": ["true"], "executor": "dask"},
        {"command": ["true"], "executor": 3},
        {"command": ["true"], "resources": {"GPU": 1}},
        {"command": ["true"], "resources": {"GPU": "one"}},
    ):
        with pytest.raises(HTTPClientError) as info:
            await api.request("POST", "runs", body=body)
        assert info.value.code == 400, body
    record = await api.create(["true"], executor="local", resources={})
    assert record["executor"] == "local" and record["tty"] is False


async def test_a_terminal_that_cannot_open_ends_the_run_and_frees_its_slot(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    from nebula_jupyter.process import terminal

    def no_pty() -> tuple[int, int]:
        raise OSError(24, "Too many open files")

    monkeypatch.setattr(terminal.pty, "openpty", no_pty)
    record = await api.create("echo hi", tty=True)
    assert (record["status"], record["reason"]) == ("failed", "spawn_error")
    assert "Too many open files" in record["error"]
    monkeypatch.undo()
    assert (await api.wait_done((await api.create(["true"]))["id"]))["status"] == "succeeded"


async def test_a_size_sent_while_queued_is_the_starting_size(api: Api, manager: Any) -> None:
    manager.config = dataclasses.replace(manager.config, max_concurrent_runs=1)
    blocker = await api.create("read x", tty=True)
    queued = await api.create("stty size", tty=True)
    assert queued["status"] == "queued"
    manager.resize(queued["id"], 123, 45)
    manager.send_input(blocker["id"], "\r")
    await api.wait_done(queued["id"])
    assert await api.logs(queued["id"], stream="stdout") == b"45 123\n"
