"""Retention (CONTRACT §1.2 v2): old finished runs go, active runs never do."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from ..support.jupyter import Api, child
from ..support.waiting import wait_for


@pytest.fixture
def nebula_config(nebula_config: dict[str, Any]) -> dict[str, Any]:
    return {
        **nebula_config,
        "retention_seconds": 2.0,
        "max_stored_bytes": 2500,
        "retention_interval_seconds": 0.2,
    }


async def listed(api: Api) -> list[str]:
    return [run["id"] for run in (await api.list_runs())["runs"]]


async def test_finished_runs_go_and_active_ones_stay(api: Api, caplog: Any) -> None:
    caplog.set_level(logging.INFO, logger="nebula_jupyter")
    active = await api.create(["sleep", "30"])
    finished = await api.create(["echo", "old"])
    await api.wait_done(finished["id"])

    async def only_active_left() -> bool:
        return await listed(api) == [active["id"]]

    await wait_for(only_active_left, 15)
    assert (await api.get(active["id"]))["status"] == "running"
    assert f"Deleted run {finished['id']} (retention)" in caplog.text
    await api.request("POST", "runs", active["id"], "cancel", body={})


async def test_oldest_finished_runs_go_beyond_max_stored_bytes(api: Api, tmp_path: Path) -> None:
    ids = []
    for _ in range(4):
        record = await api.create(child("flood", 1000))
        await api.wait_done(record["id"])
        ids.append(record["id"])

    async def newest_two_left() -> bool:
        return set(ids[2:]) <= set(await listed(api)) and not set(ids[:2]) & set(await listed(api))

    # 4 x 1000 bytes against 2500: the two oldest go (the age rule would take all, later).
    await wait_for(newest_two_left, 1.5, interval=0.05)
