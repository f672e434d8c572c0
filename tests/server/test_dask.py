"""Remote runs on a real Dask cluster (CONTRACT §7): a scheduler and workers as processes.

The Jupyter server is pytest-jupyter's (random token, odd base URL); the cluster is
``dask scheduler`` plus two ``dask worker`` processes, one declaring ``GPU=1``.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from ..support.dask_cluster import DaskCluster, two_worker_cluster
from ..support.jupyter import CANARY_TOKEN, Api, child
from ..support.processes import alive, read_pids
from ..support.server_process import ServerProcess, free_port
from ..support.tcp_proxy import TcpProxy
from ..support.waiting import wait_for

pytestmark = pytest.mark.timeout(180)


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[DaskCluster]:
    # Its own cluster: these tests kill workers and freeze agents.
    with two_worker_cluster(tmp_path / "dask") as cluster:
        yield cluster


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
    record = await api.create(child("lines", 3000, 0.003), executor="dask")
    ws = await api.connect(record["id"])
    await api.wait_output(record["id"], b"line 300\n", timeout=30)
    assert proxy.cut() > 0
    # The second cut ends a connection that lasted longer than agent_lost_timeout_seconds
    # (5 s here): only time without a connection counts towards it.
    await api.wait_output(record["id"], b"line 2500\n", timeout=30)
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
        await wait_for(_StuckInWrite(program), 20, interval=0.5)
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
        try:
            for proc in psutil.Process(agent).children(recursive=True):
                with contextlib.suppress(psutil.NoSuchProcess):  # a short-lived child
                    if any(script in part for part in proc.cmdline()):
                        return proc.pid
        except psutil.NoSuchProcess:
            continue  # an agent of an earlier run that just ended
    return None


class _StuckInWrite:
    """A condition for wait_for: the process waits in write(2) on a pipe and has written
    nothing since the previous poll (a writer that merely waits for a busy reader moves on)."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.written = -1

    def __call__(self) -> bool:
        with open(f"/proc/{self.pid}/wchan") as handle:
            waiting = handle.read().strip().endswith("pipe_write")  # anon_pipe_write on 6.x
        with open(f"/proc/{self.pid}/io") as handle:
            written = int(handle.read().split("wchar:")[1].split()[0])
        stuck = waiting and written == self.written
        self.written = written
        return stuck


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


async def test_the_agent_endpoint_takes_only_its_runs_credential(
    api: Api, proxy: TcpProxy, jp_http_port: int, jp_base_url: str, jp_serverapp: Any
) -> None:
    await proxy.start()
    queued = await api.create(["true"], executor="dask", resources={"GPU": 2})  # never placed
    local = await api.create(["sleep", "30"], executor="local")
    server_token = jp_serverapp.identity_provider.token
    kernel_secret = jp_serverapp.web_app.settings["nebula_credentials"].kernel_secret
    url = f"ws://127.0.0.1:{jp_http_port}{jp_base_url}api/nebula/agents/"
    for run_id in (queued["id"], local["id"], "no-such-run", "..%2F"):
        for credential in (None, "", "wrong", server_token, kernel_secret, CANARY_TOKEN):
            headers = {} if credential is None else {"Authorization": f"Bearer {credential}"}
            with pytest.raises(InvalidStatus) as info:
                async with connect(url + run_id, additional_headers=headers, open_timeout=5):
                    pass
            assert info.value.response.status_code == 404
            body = info.value.response.body.decode()
            assert (credential or "\0") not in body and "Traceback" not in body
    # Nothing about the credential leaks into what clients see.
    record = await api.get(queued["id"])
    assert not {"agent_credential_sha256", "agent_id", "worker"} & set(record)
    await api.request("POST", "runs", queued["id"], "cancel")
    await api.request("POST", "runs", local["id"], "cancel")


async def test_no_secret_reaches_a_remote_run(
    api: Api, proxy: TcpProxy, jp_serverapp: Any, cluster: DaskCluster
) -> None:
    await proxy.start()
    record = await api.create(["env"], executor="dask")
    await api.wait_done(record["id"], timeout=60)
    env = (await api.logs(record["id"])).decode()
    server_token = jp_serverapp.identity_provider.token
    kernel_secret = jp_serverapp.web_app.settings["nebula_credentials"].kernel_secret
    for secret in (server_token, kernel_secret, CANARY_TOKEN, "NEBULA_KERNEL_SECRET"):
        assert secret not in env
    assert f"NEBULA_RUN_ID={record['id']}" in env
    # The credential travels inside the Dask task only: not in the workers' logs either.
    for name in ("cpu", "gpu"):
        assert "Bearer" not in cluster.log(f"worker-{name}")


async def test_a_killed_agent_takes_its_tree_with_it(
    api: Api, proxy: TcpProxy, cluster: DaskCluster, tmp_path: Path
) -> None:
    await proxy.start()
    pidfile = tmp_path / "pids"
    record = await api.create(child("tree", pidfile, "ignore-term"), executor="dask")
    await wait_for(lambda: len(read_pids(pidfile)) == 3, 30)
    pids = read_pids(pidfile)
    agents = cluster.agent_pids("cpu") + cluster.agent_pids("gpu")
    assert len(agents) == 1
    os.kill(agents[0], signal.SIGKILL)
    # The task thread in the worker watches its agent: the tree goes at once.
    await wait_for(lambda: not any(alive(pid) for pid in pids), 10)
    done = await api.wait_done(record["id"], timeout=20)  # agent_lost_timeout_seconds = 5
    assert (done["status"], done["reason"]) == ("failed", "worker_lost")


async def test_a_folder_missing_on_the_worker_is_a_clear_spawn_error(
    api: Api, proxy: TcpProxy, jp_root_dir: Path, tmp_path: Path
) -> None:
    await proxy.start()
    release = tmp_path / "release"
    blocker = await api.create(
        f"while [ ! -e {release} ]; do sleep 0.05; done", executor="dask", resources={"GPU": 1}
    )

    async def blocker_running() -> bool:
        return (await api.get(blocker["id"]))["status"] == "running"

    await wait_for(blocker_running, 30)
    (jp_root_dir / "gone").mkdir()
    record = await api.create(["true"], executor="dask", resources={"GPU": 1}, cwd="gone")
    assert record["status"] == "queued"  # the only GPU is taken
    (jp_root_dir / "gone").rmdir()
    release.touch()
    done = await api.wait_done(record["id"], timeout=30)
    assert (done["status"], done["reason"]) == ("failed", "spawn_error")
    assert "gone does not exist on worker gpu" in done["error"]


async def test_while_the_server_is_unreachable_the_program_blocks_and_nothing_is_lost(
    api: Api, proxy: TcpProxy, cluster: DaskCluster
) -> None:
    await proxy.start()
    size = 40_000_000  # five times the agent's 8 MiB window of unacknowledged output
    blocks = size // 100_000
    code = (
        "import os, sys, time\n"
        "line = b'y' * 99 + b'\\n'\n"
        "os.write(1, b'start\\n')\n"
        "while not os.path.exists(sys.argv[1]): time.sleep(0.01)\n"
        f"for _ in range({blocks}): os.write(1, line * 1000)\n"
    )
    go = proxy.listen_port  # any unique path: the run waits for it before flooding
    flag = f"/tmp/nebula-go-{go}"
    record = await api.create(["python3", "-c", code, flag], executor="dask")
    await api.wait_output(record["id"], b"start\n", timeout=30)
    await proxy.go_down()
    open(flag, "w").close()
    try:
        agents = await wait_for(lambda: cluster.agent_pids("cpu") + cluster.agent_pids("gpu"), 10)
        program = await wait_for(lambda: _program_of(agents, flag), 10)
        # Back-pressure: the agent stops reading after its window; the program waits in write.
        await wait_for(_StuckInWrite(program), 30, interval=0.5)
        held = sum(psutil.Process(pid).memory_info().rss for pid in agents)
        assert held < 8 * 2**20 + 60 * 2**20  # the window plus a Python interpreter
    finally:
        os.unlink(flag)
        await proxy.start()
    done = await api.wait_done(record["id"], timeout=60)
    assert done["status"] == "succeeded"
    assert done["stdout_bytes"] == len(b"start\n") + size
    logs = await api.logs(record["id"], stream="stdout")
    assert logs == b"start\n" + (b"y" * 99 + b"\n") * (size // 100)


async def test_an_agent_cut_off_for_good_kills_its_tree_and_the_run_is_worker_lost(
    api: Api, proxy: TcpProxy, tmp_path: Path
) -> None:
    await proxy.start()
    pidfile = tmp_path / "pids"
    record = await api.create(child("tree", pidfile), executor="dask")
    await wait_for(lambda: len(read_pids(pidfile)) == 3, 30)
    pids = read_pids(pidfile)
    await proxy.go_down()  # for longer than agent_lost_timeout_seconds (5 s here)
    done = await api.wait_done(record["id"], timeout=20)
    assert (done["status"], done["reason"]) == ("failed", "worker_lost")
    # The agent gives up on its side too: nothing of the run outlives both timeouts.
    await wait_for(lambda: not any(alive(pid) for pid in pids), 20)
