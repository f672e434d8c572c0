"""What a server does in the background: cancels asked through another server, lost owners."""

from __future__ import annotations

from typing import Any

import pytest

from nebula_jupyter.server.records import StoredRun

from ..support.jupyter import Api
from ..support.waiting import wait_for


async def test_a_cancel_asked_elsewhere_decides_the_status_even_if_the_run_exits_first(
    api: Api, manager: Any
) -> None:
    # Another server sharing the data dir answered 202 to a cancel (it wrote the request);
    # the run exits before this server's next housekeeping tick: it is still 'cancelled'.
    record = await api.create("sleep 0.1; exit 3")
    assert manager.storage.records.request_cancel(record["id"])
    done = await api.wait_done(record["id"])
    assert (done["status"], done["exit_code"], done["cancel_requested"]) == ("cancelled", 3, True)


async def test_housekeeping_survives_a_failing_pass(
    api: Api, manager: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = []

    def broken(owner: object) -> bool:
        calls.append(owner)
        raise OSError(24, "Too many open files")

    record = await api.create(["sleep", "30"])
    # An active run of another (unreachable) server, so the owner check has work to do.
    manager.storage.records.insert(StoredRun(id="elsewhere", command=["true"]), "other-owner")
    monkeypatch.setattr(manager.owners, "is_gone", broken)
    await wait_for(lambda: calls, 10)  # an owner check ran, and failed
    monkeypatch.undo()
    # Later passes still run: a cancel written by "another server" is carried out.
    assert manager.storage.records.request_cancel(record["id"])
    assert (await api.wait_done(record["id"], timeout=10))["status"] == "cancelled"
