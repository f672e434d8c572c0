"""A full disk (CONTRACT §1.2 v2 "Storage failures") on a real 3 MB tmpfs.

The run is neither blocked nor killed; what could not be stored is counted; the stored output
stays consistent with the record; every viewer gets the terminal status; the concurrency slot
is released; create answers 507 while the disk is full; DELETE still works and frees space.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError

from ..support.jupyter import Api, child, read_all

SMALL = "3m"


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A real tmpfs of 3 MB (the machine runs as root; CI does too)."""
    mount_point = tmp_path / "small"
    mount_point.mkdir()
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={SMALL}", "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {result.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


@pytest.fixture
def jp_server_config(small_disk: Path, nebula_config: dict[str, Any]) -> dict[str, Any]:
    return {
        "ServerApp": {"jpserver_extensions": {"nebula_jupyter": True}},
        "NebulaApp": {
            "data_dir": str(small_disk / "nebula-data"),
            **nebula_config,
            "max_concurrent_runs": 1,
        },
    }


async def test_a_run_that_fills_the_disk_ends_properly(api: Api) -> None:
    record = await api.create(child("flood", 5_000_000))
    ws = await api.connect(record["id"])
    messages = await read_all(ws)
    # Every viewer gets the terminal status, after the output that was stored.
    assert messages[-1]["type"] == "status" and messages[-1]["status"] == "succeeded"
    done = await api.wait_done(record["id"])
    assert done["status"] == "succeeded" and done["exit_code"] == 0
    assert done["unstored_bytes"] > 0
    assert done["error"] and "could not be stored" in done["error"]
    # What is stored is consistent: the record's counts are what logs returns.
    stdout = await api.logs(record["id"], stream="stdout")
    assert len(stdout) == done["stdout_bytes"]
    assert done["stdout_bytes"] + done["unstored_bytes"] == 5_000_000
    streamed = "".join(m["data"] for m in messages if m["type"] == "stdout")
    assert streamed.encode() == stdout

    # While the disk is full nothing new can be stored: 507, and nothing is created.
    with pytest.raises(HTTPClientError) as info:
        await api.create(["echo", "no room"])
    assert info.value.code == 507
    assert "full" in json.loads(info.value.response.body)["message"]

    # GET keeps working; DELETE frees the space; then runs start again (the slot was freed).
    assert (await api.get(record["id"]))["status"] == "succeeded"
    assert (await api.request("DELETE", "runs", record["id"])).code == 204
    again = await api.create(["echo", "room again"])
    assert (await api.wait_done(again["id"]))["status"] == "succeeded"
    assert await api.logs(again["id"]) == b"room again\n"
