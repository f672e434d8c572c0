"""Restart, crash, shutdown and memory behaviour of a real server process."""

from __future__ import annotations

import json
import signal
import sys
from pathlib import Path
from typing import Any

import psutil
import pytest

from ..support.jupyter import child, read_all
from ..support.processes import alive, read_pids
from ..support.server_process import ServerProcess
from ..support.waiting import wait_for


@pytest.fixture
def server(tmp_path: Path) -> Any:
    process = ServerProcess(tmp_path)
    yield process
    process.kill()


async def test_restart_keeps_finished_runs_and_exact_logs(server: ServerProcess) -> None:
    await server.start()
    payload = "out:" + (b"caf\xc3\xa9 \xff\x00 end\n" * 1000).hex()
    record = await server.json(
        "POST", "runs", {"command": child("write_bytes", payload, "err:6572720a"), "name": "keep"}
    )
    before = await server.wait_done(record["id"])
    logs = (await server.fetch("GET", f"runs/{record['id']}/logs")).body
    assert await server.stop() == 0
    await server.start()
    after = await server.json("GET", f"runs/{record['id']}")
    assert after == before
    assert (await server.fetch("GET", f"runs/{record['id']}/logs")).body == logs
    stdout = (await server.fetch("GET", f"runs/{record['id']}/logs?stream=stdout")).body
    assert stdout == b"caf\xc3\xa9 \xff\x00 end\n" * 1000
    messages = await read_all(await server.connect(record["id"]))
    assert messages[-1]["status"] == "succeeded"
    assert "".join(m["data"] for m in messages if m["type"] == "stderr") == "err\n"


async def test_kill9_then_restart_reports_server_lost_and_kills_leftovers(
    server: ServerProcess, tmp_path: Path
) -> None:
    await server.start()
    pidfile = tmp_path / "pids"
    record = await server.json("POST", "runs", {"command": child("tree", pidfile)})
    await wait_for(lambda: len(read_pids(pidfile)) == 3, 15)
    await server.stop(signal.SIGKILL)
    pids = read_pids(pidfile)
    assert all(alive(pid) for pid in pids)  # its own session: the crash did not take it down
    await server.start()
    lost = await server.json("GET", f"runs/{record['id']}")
    assert lost["status"] == "failed" and lost["reason"] == "server_lost"
    assert lost["finished_at"] is not None
    await wait_for(lambda: not any(alive(pid) for pid in pids), 10)
    messages = await read_all(await server.connect(record["id"]))
    assert messages[-1]["status"] == "failed"


async def test_sigterm_shutdown_leaves_no_child(server: ServerProcess, tmp_path: Path) -> None:
    await server.start()
    pidfile = tmp_path / "pids"
    record = await server.json("POST", "runs", {"command": child("tree", pidfile, "ignore-term")})
    await wait_for(lambda: len(read_pids(pidfile)) == 3, 15)
    ws = await server.connect(record["id"])
    await server.stop(signal.SIGTERM)
    assert not any(alive(pid) for pid in read_pids(pidfile))
    messages = await read_all(ws)
    assert messages[-1]["status"] == "cancelled"
    assert messages[-1]["run"]["reason"] == "server_shutdown"
    await server.start()
    assert (await server.json("GET", f"runs/{record['id']}"))["reason"] == "server_shutdown"


async def test_paused_client_does_not_grow_server_memory(server: ServerProcess) -> None:
    await server.start()
    assert server.proc is not None
    process = psutil.Process(server.proc.pid)
    size = 100 * 1024 * 1024
    # Start the run behind a gate so the paused client is connected before any output.
    gate = server.tmp_path / "gate"
    command = (
        f"while [ ! -e {gate} ]; do sleep 0.05; done; "
        f"exec {sys.executable} {child('flood', size)[1]} {size}"
    )
    record = await server.json("POST", "runs", {"command": command})
    paused = await server.connect(record["id"])
    assert json.loads(await paused.read_message())["type"] == "status"
    baseline = process.memory_info().rss
    peak = baseline
    gate.touch()

    async def finished() -> bool:
        nonlocal peak
        peak = max(peak, process.memory_info().rss)
        record_now = await server.json("GET", f"runs/{record['id']}")
        return record_now["status"] == "succeeded"

    await wait_for(finished, 120, interval=0.05)
    growth = peak - baseline
    print(f"paused client, {size >> 20} MiB written: server RSS grew {growth / 2**20:.1f} MiB")
    assert growth < 64 * 1024 * 1024, f"server RSS grew by {growth / 2**20:.1f} MiB"
    # The paused client then catches up from storage and gets every byte.
    messages = await read_all(paused)
    received = sum(len(m["data"]) for m in messages if m["type"] == "stdout")
    assert received == size
    assert messages[-1]["status"] == "succeeded"
