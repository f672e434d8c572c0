"""No process of a run outlives it, also those that left its process group (CONTRACT §1 v2).

Each case starts a descendant that escapes the run's process group in one of the ways real
programs do, then ends the run one way or another and checks the descendant is gone. The
sleeps carry unusual durations so that each test can find its own processes.
"""

from __future__ import annotations

import random
import signal
from pathlib import Path
from typing import Any

import pytest

from ..support.jupyter import Api
from ..support.processes import running
from ..support.server_process import ServerProcess
from ..support.waiting import wait_for


def unique_sleep() -> list[str]:
    return ["sleep", str(random.randint(100_000, 999_999))]


def escapes(sleep: list[str]) -> dict[str, str]:
    """Shell commands whose ``sleep`` leaves the run's process group (keyed by how)."""
    seconds = sleep[1]
    return {
        # GNU timeout puts itself (and so its child) in a process group of its own.
        "timeout": f"echo start; timeout 600 sleep {seconds}",
        # A new session: only the environment marker still ties it to the run.
        "setsid": f"setsid sleep {seconds} & echo start; wait",
        # Its own group and no marker: only the session ties it to the run.
        "scrubbed": f"echo start; timeout 600 env -u NEBULA_RUN_ID sleep {seconds}",
    }


async def gone(sleep: list[str]) -> bool:
    return not running(*sleep)


@pytest.mark.parametrize("how", ["timeout", "setsid", "scrubbed"])
async def test_cancel_kills_descendants_that_left_the_group(api: Api, how: str) -> None:
    sleep = unique_sleep()
    record = await api.create(escapes(sleep)[how])
    await api.wait_output(record["id"], b"start")
    await wait_for(lambda: running(*sleep), 10)
    await api.request("POST", "runs", record["id"], "cancel", body={})
    done = await api.wait_done(record["id"])
    assert done["status"] == "cancelled"
    await wait_for(lambda: gone(sleep), 5)


async def test_natural_end_kills_a_detached_descendant(api: Api) -> None:
    sleep = unique_sleep()
    # The shell exits at once; the escaped `timeout` keeps the pipes open until the drain
    # timeout, then the run ends and takes it along.
    record = await api.create(f"timeout 600 sleep {sleep[1]} & echo start")
    await api.wait_output(record["id"], b"start")
    done = await api.wait_done(record["id"])
    assert done["status"] == "succeeded"
    await wait_for(lambda: gone(sleep), 5)


@pytest.fixture
def server(tmp_path: Path) -> Any:
    process = ServerProcess(tmp_path)
    yield process
    process.kill()


async def test_graceful_stop_kills_descendants_that_left_the_group(
    server: ServerProcess,
) -> None:
    await server.start(cancel_grace_seconds=1.0)
    sleeps = [unique_sleep() for _ in range(3)]
    for sleep, command in zip(sleeps, ("timeout", "setsid", "scrubbed"), strict=True):
        await server.json("POST", "runs", {"command": escapes(sleep)[command]})
    await wait_for(lambda: all(running(*sleep) for sleep in sleeps), 10)
    assert await server.stop(signal.SIGTERM) == 0
    for sleep in sleeps:
        await wait_for(lambda sleep=sleep: gone(sleep), 5)


async def test_after_a_crash_the_next_start_kills_what_kept_the_marker(
    server: ServerProcess,
) -> None:
    await server.start()
    sleeps = [unique_sleep() for _ in range(2)]
    for sleep, command in zip(sleeps, ("timeout", "setsid"), strict=True):
        await server.json("POST", "runs", {"command": escapes(sleep)[command]})
    await wait_for(lambda: all(running(*sleep) for sleep in sleeps), 10)
    await server.stop(signal.SIGKILL)
    assert all(running(*sleep) for sleep in sleeps), "a crashed server kills nothing"
    await server.start()
    for sleep in sleeps:
        await wait_for(lambda sleep=sleep: gone(sleep), 5)
