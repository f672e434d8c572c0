"""Several servers, one data dir (CONTRACT §1.2 v2): two real server processes.

A user's second `jupyter lab` shares the default data dir with the first. Neither may kill,
fail or hide the other's runs; both list, stream and cancel every run; a run is recovered as
lost only once its server is provably gone (its OS lock was released by its death).
"""

from __future__ import annotations

import random
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from ..support.jupyter import read_all
from ..support.processes import running
from ..support.server_process import ServerProcess
from ..support.waiting import wait_for

TICKS = "for i in $(seq 1 12); do echo tick $i; sleep 0.25; done"


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    shared = tmp_path / "shared-data"
    first = ServerProcess(tmp_path / "a", data_dir=shared)
    second = ServerProcess(tmp_path / "b", data_dir=shared)
    yield first, second
    first.kill()
    second.kill()


async def test_a_second_server_leaves_the_first_servers_run_alone(
    servers: tuple[ServerProcess, ServerProcess],
) -> None:
    first, second = servers
    await first.start()
    record = await first.json("POST", "runs", {"command": TICKS})
    await second.start()
    done = await first.wait_done(record["id"])
    assert done["status"] == "succeeded", done
    logs = (await first.fetch("GET", f"runs/{record['id']}/logs")).body
    assert logs == b"".join(f"tick {i}\n".encode() for i in range(1, 13))
    # The second server sees the same run, record and bytes.
    assert await second.json("GET", f"runs/{record['id']}") == done
    assert (await second.fetch("GET", f"runs/{record['id']}/logs")).body == logs


async def test_both_servers_list_stream_and_serve_every_run(
    servers: tuple[ServerProcess, ServerProcess],
) -> None:
    first, second = servers
    await first.start()
    await second.start()
    on_first = await first.json("POST", "runs", {"command": TICKS})
    on_second = await second.json("POST", "runs", {"command": "echo from b"})
    for server in servers:
        ids = [run["id"] for run in (await server.json("GET", "runs"))["runs"]]
        assert ids == [on_second["id"], on_first["id"]]
    # The second server follows the first one's live run from storage: complete and ordered.
    messages = await read_all(await second.connect(on_first["id"]))
    text = "".join(m["data"] for m in messages if m["type"] == "stdout")
    assert text == "".join(f"tick {i}\n" for i in range(1, 13))
    assert messages[-1]["type"] == "status" and messages[-1]["status"] == "succeeded"
    seqs = [m["seq"] for m in messages if m["type"] == "stdout"]
    assert seqs == sorted(set(seqs))
    await first.wait_done(on_second["id"])
    assert (await first.fetch("GET", f"runs/{on_second['id']}/logs")).body == b"from b\n"


async def test_cancel_works_from_the_other_server(
    servers: tuple[ServerProcess, ServerProcess],
) -> None:
    first, second = servers
    await first.start()
    await second.start()
    sleep = ["sleep", str(random.randint(100_000, 999_999))]
    record = await first.json("POST", "runs", {"command": sleep})
    viewer = await second.connect(record["id"])
    accepted = await second.json("POST", f"runs/{record['id']}/cancel", {})
    assert accepted["cancel_requested"] is True
    done = await first.wait_done(record["id"], timeout=10)
    assert done["status"] == "cancelled"
    messages = await read_all(viewer)
    assert messages[-1]["status"] == "cancelled"
    assert not running(*sleep)
    again = await second.fetch("POST", f"runs/{record['id']}/cancel", {})
    assert again.code == 409


async def test_a_crashed_server_is_recovered_by_a_live_one(
    servers: tuple[ServerProcess, ServerProcess],
) -> None:
    first, second = servers
    await first.start()
    await second.start()
    seconds = str(random.randint(100_000, 999_999))
    record = await first.json("POST", "runs", {"command": f"timeout 600 sleep {seconds}"})
    await wait_for(lambda: running("sleep", seconds), 10)
    await first.stop(signal.SIGKILL)
    done = await second.wait_done(record["id"], timeout=15)
    assert (done["status"], done["reason"]) == ("failed", "server_lost")
    await wait_for(lambda: not running("sleep", seconds), 5)
