"""Remote runs on a real Dask cluster (CONTRACT §7): a scheduler and workers as processes.

The Jupyter server is pytest-jupyter's (random token, odd base URL); the cluster is
``dask scheduler`` plus two ``dask worker`` processes, one declaring ``GPU=1``.
"""

from __future__ import annotations

import json
import os
import signal
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from ..support.dask_cluster import DaskCluster
from ..support.jupyter import Api, child
from ..support.processes import alive, read_pids
from ..support.server_process import ServerProcess, free_port
from ..support.tcp_proxy import TcpProxy
from ..support.waiting import wait_for

pytestmark = pytest.mark.timeout(180)


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[DaskCluster]:
    cluster = DaskCluster(tmp_path / "dask")
    try:
        cluster.start()
        cluster.add_worker("cpu")
        cluster.add_worker("gpu", resources="GPU=1")
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def proxy(jp_http_port: int) -> Iterator[TcpProxy]:
    """Agents reach the server through this proxy (tests start it), so that they can cut
    the agents' connections."""
    proxy = TcpProxy(free_port(), jp_http_port)
    yield proxy
    proxy.close()


@pytest.fixture
def jp_server_config(
    cluster: DaskCluster,
    proxy: TcpProxy,
    nebula_config: dict[str, Any],
    tmp_path: Path,
    jp_base_url: str,
) -> dict[str, Any]:
    return {
        "ServerApp": {"jpserver_extensions": {"nebula_jupyter": True}},
        "NebulaApp": {
            "data_dir": str(tmp_path / "nebula-data"),
            **nebula_config,
            "agent_url": f"http://127.0.0.1:{proxy.listen_port}{jp_base_url}",
            "agent_lost_timeout_seconds": 5.0,
        },
        "DaskExecutor": {"scheduler_address": cluster.address},
    }


async def read_all(ws: Any) -> list[dict[str, Any]]:
    messages = []
    while True:
        raw = await ws.read_message()
        if raw is None:
            return messages
        messages.append(json.loads(raw))


def ordered_output(messages: list[dict[str, Any]]) -> list[tuple[int, str, str]]:
    return [(m["seq"], m["type"], m["data"]) for m in messages if m["type"] in ("stdout", "stderr")]


async def test_a_dask_run_streams_both_streams_in_order(api: Api, proxy: TcpProxy) -> None:
    await proxy.start()
    script = (
        "import sys\n"
        "for i in range(200):\n"
        "    print(f'out {i}', flush=True)\n"
        "    print(f'err {i}', file=sys.stderr, flush=True)\n"
        "print('é✓'*1000, flush=True)\n"
        "sys.exit(3)\n"
    )
    record = await api.create(["python3", "-c", script], executor="dask", name="remote")
    assert record["executor"] == "dask"
    assert record["status"] in ("queued", "running")
    ws = await api.connect(record["id"])
    messages = await read_all(ws)
    assert messages[-1]["type"] == "status"
    final = messages[-1]["run"]
    assert final["status"] == "failed", final
    assert final["exit_code"] == 3 and final["reason"] == "exited"
    assert final["host"]
    chunks = ordered_output(messages)
    assert [seq for seq, _, _ in chunks] == sorted({seq for seq, _, _ in chunks})
    stdout = "".join(data for _, kind, data in chunks if kind == "stdout")
    stderr = "".join(data for _, kind, data in chunks if kind == "stderr")
    assert stdout == "".join(f"out {i}\n" for i in range(200)) + "é✓" * 1000 + "\n"
    assert stderr == "".join(f"err {i}\n" for i in range(200))
    assert await api.logs(record["id"], stream="stdout") == stdout.encode()
    done = await api.get(record["id"])
    assert done["stdout_bytes"] == len(stdout.encode())
    assert done["last_seq"] == chunks[-1][0]


async def test_a_gpu_run_lands_on_the_worker_that_has_one(api: Api, proxy: TcpProxy) -> None:
    await proxy.start()
    record = await api.create('echo "$NEBULA_WORKER"', executor="dask", resources={"GPU": 1})
    done = await api.wait_done(record["id"], timeout=60)
    assert done["status"] == "succeeded"
    assert await api.logs(record["id"]) == b"gpu\n"
    assert done["host"] == socket.gethostname()


async def test_a_run_no_worker_can_take_stays_queued_and_cancels(api: Api, proxy: TcpProxy) -> None:
    await proxy.start()
    record = await api.create(["true"], executor="dask", resources={"GPU": 2})
    assert record["status"] == "queued" and record["host"] is None
    assert (await api.get(record["id"]))["status"] == "queued"
    response = await api.request("POST", "runs", record["id"], "cancel")
    assert response.code == 202
    done = await api.wait_done(record["id"])
    assert (done["status"], done["reason"], done["started_at"]) == ("cancelled", "cancelled", None)


async def test_a_killed_worker_ends_the_run_worker_lost_and_the_retry_is_refused(
    api: Api, proxy: TcpProxy, cluster: DaskCluster, tmp_path: Path
) -> None:
    await proxy.start()
    pidfile, marker = tmp_path / "pids", tmp_path / "started"
    tree = " ".join(child("tree", pidfile))
    record = await api.create(f'echo "$NEBULA_WORKER" >> {marker}; exec {tree}', executor="dask")
    await wait_for(lambda: len(read_pids(pidfile)) == 3, 30)
    pids = read_pids(pidfile)
    worker = marker.read_text().strip()
    other = "gpu" if worker == "cpu" else "cpu"
    cluster.kill_worker(worker)
    done = await api.wait_done(record["id"], timeout=15)
    assert (done["status"], done["reason"]) == ("failed", "worker_lost")
    # Its whole tree is gone, though the worker could not clean up (it was SIGKILLed).
    await wait_for(lambda: not any(alive(pid) for pid in pids), 10)
    # Dask re-ran the task on the other worker; the server refused that agent before the
    # command ran: it started exactly once.
    await wait_for(lambda: f"run {record['id']} refused" in cluster.log(f"worker-{other}"), 30)
    assert marker.read_text().split() == [worker]


async def test_cutting_the_agent_connection_twice_loses_and_repeats_nothing(
    api: Api, proxy: TcpProxy
) -> None:
    await proxy.start()
    record = await api.create(child("lines", 3000, 0.002), executor="dask")
    ws = await api.connect(record["id"])
    await api.wait_output(record["id"], b"line 300\n", timeout=30)
    assert proxy.cut() > 0
    await api.wait_output(record["id"], b"line 1200\n", timeout=30)
    assert proxy.cut() > 0
    messages = await read_all(ws)
    assert messages[-1]["run"]["status"] == "succeeded"
    assert proxy.connections >= 3
    chunks = ordered_output(messages)
    seqs = [seq for seq, _, _ in chunks]
    assert seqs == sorted(set(seqs)), "a chunk was repeated or reordered"
    expected = "".join(f"line {i}\n" for i in range(1, 3001))
    assert "".join(data for _, kind, data in chunks if kind == "stdout") == expected
    assert (await api.logs(record["id"], stream="stdout")).decode() == expected


async def test_a_frozen_agent_resumes_without_loss(
    api: Api, proxy: TcpProxy, cluster: DaskCluster
) -> None:
    await proxy.start()
    size = 24_000_000  # three times the agent's unacknowledged window
    record = await api.create(child("flood", size), executor="dask")
    await api.wait_output(record["id"], b"x", timeout=30)
    agents = await wait_for(lambda: cluster.agent_pids("cpu") + cluster.agent_pids("gpu"), 10)
    program = await wait_for(lambda: _program_of(agents, "flood.py"), 10)
    for pid in agents:
        os.kill(pid, signal.SIGSTOP)
    try:
        # Frozen until the program itself is stuck in write(2): the pipe is full and
        # everything the agent held unacknowledged or unread is on hold.
        await wait_for(lambda: _blocked_in_write(program), 20)
        frozen_at = (await api.get(record["id"]))["stdout_bytes"]
        assert frozen_at < size
    finally:
        for pid in agents:
            os.kill(pid, signal.SIGCONT)
    done = await api.wait_done(record["id"], timeout=60)
    assert done["status"] == "succeeded" and done["stdout_bytes"] == size
    logs = await api.logs(record["id"], stream="stdout")
    line = b"x" * 99 + b"\n"
    assert len(logs) == size and logs == (line * (size // 100 + 1))[:size]


def _program_of(agents: list[int], script: str) -> int | None:
    for agent in agents:
        for proc in psutil.Process(agent).children(recursive=True):
            if any(script in part for part in proc.cmdline()):
                return proc.pid
    return None


def _blocked_in_write(pid: int) -> bool:
    with open(f"/proc/{pid}/wchan") as handle:
        return handle.read().strip().endswith("pipe_write")  # anon_pipe_write on Linux 6


async def test_a_server_restart_mid_run_loses_and_repeats_nothing(
    cluster: DaskCluster, tmp_path: Path
) -> None:
    server = ServerProcess(tmp_path / "server")
    dask = {"DaskExecutor": {"scheduler_address": cluster.address}}
    try:
        await server.start(dask, default_executor="dask", agent_lost_timeout_seconds=30.0)
        record = await server.json("POST", "runs", {"command": child("lines", 2000, 0.004)})
        run_id = record["id"]

        async def some_output() -> bool:
            return (await server.json("GET", f"runs/{run_id}"))["stdout_bytes"] > 2000

        await wait_for(some_output, 30)
        assert await server.stop() == 0  # a graceful stop leaves remote runs running
        await server.start(dask, default_executor="dask", agent_lost_timeout_seconds=30.0)
        done = await server.wait_done(run_id, timeout=60)
        assert (done["status"], done["exit_code"]) == ("succeeded", 0)
        logs = await server.fetch("GET", f"runs/{run_id}/logs?stream=stdout")
        expected = "".join(f"line {i}\n" for i in range(1, 2001))
        assert logs.body.decode() == expected
        ws = await server.connect(run_id)
        messages = await read_all(ws)
        seqs = [seq for seq, _, _ in ordered_output(messages)]
        assert seqs == sorted(set(seqs)) and seqs[-1] == done["last_seq"]
    finally:
        server.kill()
