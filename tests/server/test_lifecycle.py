"""Run lifecycle through a real server: cancel ladder, races, queue, shutdown."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError

from ..support.jupyter import Api, both_executors, child, read_all
from ..support.processes import alive, read_pids
from ..support.waiting import wait_for

TERMINAL = {"succeeded", "failed", "cancelled"}


@pytest.mark.parametrize("ignore_term", [False, True])
@both_executors
async def test_cancel_kills_children_and_grandchildren(
    api: Api, tmp_path: Path, ignore_term: bool
) -> None:
    pidfile = tmp_path / "pids"
    args = ["ignore-term"] if ignore_term else []
    record = await api.create(child("tree", pidfile, *args))
    await wait_for(lambda: len(read_pids(pidfile)) == 3, 15)
    await api.wait_output(record["id"], b"ready\nready\nready\n")
    pids = read_pids(pidfile)
    assert all(alive(pid) for pid in pids)
    response = await api.request("POST", "runs", record["id"], "cancel")
    assert response.code == 202
    done = await api.wait_done(record["id"])
    assert done["status"] == "cancelled" and done["reason"] == "cancelled"
    # SIGTERM ends them unless they ignore it; then SIGKILL after the grace period.
    assert done["signal"] == ("SIGKILL" if ignore_term else "SIGTERM")
    await wait_for(lambda: not any(alive(pid) for pid in pids), 5)


@both_executors
async def test_cancel_broadcast_comes_fast(api: Api) -> None:
    record = await api.create(child("ignore_term"))
    await api.wait_output(record["id"], b"ignoring")
    ws = await api.connect(record["id"])
    assert json.loads(await ws.read_message())["type"] == "status"
    assert json.loads(await ws.read_message())["data"] == "ignoring SIGTERM\n"
    await api.request("POST", "runs", record["id"], "cancel")
    message = json.loads(await asyncio.wait_for(ws.read_message(), 1.0))
    assert message["type"] == "status" and message["run"]["cancel_requested"] is True
    messages = await read_all(ws)
    assert messages[-1]["status"] == "cancelled"


@both_executors
async def test_cancel_racing_natural_exit_gives_one_terminal_status(api: Api) -> None:
    for _ in range(15):
        record = await api.create(["true"])
        ws = await api.connect(record["id"])
        try:
            response = await api.request("POST", "runs", record["id"], "cancel")
            accepted = response.code == 202
        except HTTPClientError as error:
            assert error.code == 409
            accepted = False
        messages = await read_all(ws)
        terminal = [m for m in messages if m["type"] == "status" and m["status"] in TERMINAL]
        assert len(terminal) == 1 and messages[-1] is terminal[0]
        final = await api.get(record["id"])
        assert final["status"] == ("cancelled" if accepted else "succeeded")
        assert final["status"] == terminal[0]["status"]


@both_executors
async def test_drain_timeout_when_a_detached_grandchild_holds_the_pipe(api: Api) -> None:
    # The grandchild leaves the process group (setsid), so only the drain deadline ends the run.
    script = "setsid sleep 5 & echo started"
    record = await api.create(script)
    done = await api.wait_done(record["id"], timeout=10)
    assert done["status"] == "succeeded"
    assert await api.logs(record["id"]) == b"started\n"


class TestQueue:
    @pytest.fixture
    def nebula_config(self) -> dict[str, Any]:
        return {
            "cancel_grace_seconds": 1.0,
            "drain_timeout_seconds": 1.0,
            "max_concurrent_runs": 1,
            "max_queued_runs": 2,
        }

    async def test_fifo_queue_queued_cancel_and_429(self, api: Api, tmp_path: Path) -> None:
        marker = tmp_path / "started"
        gate = tmp_path / "gate"
        blocker = await api.create(f"while [ ! -e {gate} ]; do sleep 0.05; done")
        await wait_for(lambda: _status(api, blocker["id"], "running"), 10)
        first = await api.create(f"echo first >> {marker}")
        second = await api.create(f"echo second >> {marker}")
        assert first["status"] == "queued" and second["status"] == "queued"
        with pytest.raises(HTTPClientError) as info:
            await api.create(["true"])
        assert info.value.code == 429
        # Cancelling a queued run ends it at once, and it never starts.
        response = await api.request("POST", "runs", first["id"], "cancel")
        assert response.code == 202
        cancelled = await api.get(first["id"])
        assert cancelled["status"] == "cancelled" and cancelled["started_at"] is None
        third = await api.create(f"echo third >> {marker}")
        gate.touch()
        for record in (blocker, second, third):
            assert (await api.wait_done(record["id"]))["status"] == "succeeded"
        assert marker.read_text() == "second\nthird\n"
        assert (await api.get(first["id"]))["status"] == "cancelled"


async def _status(api: Api, run_id: str, status: str) -> bool:
    return (await api.get(run_id))["status"] == status


async def test_graceful_shutdown_cancels_runs_and_closes_1001(
    api: Api, jp_serverapp: Any, tmp_path: Path
) -> None:
    pidfile = tmp_path / "pids"
    record = await api.create(child("tree", pidfile, "ignore-term"))
    await wait_for(lambda: len(read_pids(pidfile)) == 3, 15)
    await api.wait_output(record["id"], b"ready\nready\nready\n")
    ws = await api.connect(record["id"])
    assert json.loads(await ws.read_message())["type"] == "status"
    extension = jp_serverapp.extension_manager.extension_apps["nebula_jupyter"]
    app = next(iter(extension))
    await app.stop_extension()
    messages = await read_all(ws)
    assert messages[-1]["status"] == "cancelled"
    assert messages[-1]["run"]["reason"] == "server_shutdown"
    assert ws.close_code == 1001
    assert not any(alive(pid) for pid in read_pids(pidfile))
