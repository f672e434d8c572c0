"""Executors come by name, and third parties plug theirs in (CONTRACT §7 entry points).

The plug-in here is a real one, installed for the test as a distribution on ``sys.path``: its
executor starts each agent in a thread of the server's own process (what an engine's worker
would do), so its runs go through the whole agent link without any engine.
"""

from __future__ import annotations

import importlib
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from nebula_jupyter.server.executors import ENTRY_POINT_GROUP

from ..support.jupyter import Api

PLUGIN = '''
import asyncio

from nebula_jupyter.agent.task import run_agent
from nebula_jupyter.server.executors import Executor, ExecutorUnavailable


class ThreadExecutor(Executor):
    """Each run's agent starts from a thread of this process, as a worker would start it."""

    def check(self, resources):
        if resources:
            raise ExecutorUnavailable("The thread executor takes no resources.")

    async def submit(self, job, resources):
        self._task = asyncio.get_running_loop().run_in_executor(None, run_agent, job.to_json())


class NotAnExecutor:
    pass
'''


@pytest.fixture
def plugin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Install a distribution declaring two entry points (one of them broken)."""
    site = tmp_path_factory.mktemp("site")
    (site / "nebula_thread_executor.py").write_text(textwrap.dedent(PLUGIN))
    info = site / "nebula_thread_executor-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: nebula-thread-executor\n")
    (info / "entry_points.txt").write_text(
        f"[{ENTRY_POINT_GROUP}]\n"
        "thread = nebula_thread_executor:ThreadExecutor\n"
        "bogus = nebula_thread_executor:NotAnExecutor\n"
        "local = nebula_thread_executor:ThreadExecutor\n"
    )
    sys.path.insert(0, str(site))
    importlib.invalidate_caches()
    try:
        yield
    finally:
        sys.path.remove(str(site))
        sys.modules.pop("nebula_thread_executor", None)
        importlib.invalidate_caches()


@pytest.fixture
def jp_server_config(plugin: None, nebula_config: dict[str, Any], tmp_path: Path) -> dict[str, Any]:
    return {
        "ServerApp": {"jpserver_extensions": {"nebula_jupyter": True}},
        "NebulaApp": {"data_dir": str(tmp_path / "nebula-data"), **nebula_config},
    }


async def test_a_plugged_in_executor_runs_through_the_agent_link(api: Api) -> None:
    record = await api.create("echo out; echo err >&2; exit 5", executor="thread")
    assert (record["executor"], record["status"]) == ("thread", "queued")
    done = await api.wait_done(record["id"], timeout=30)
    assert (done["status"], done["exit_code"], done["reason"]) == ("failed", 5, "exited")
    assert done["host"]
    assert await api.logs(record["id"], stream="stdout") == b"out\n"
    assert await api.logs(record["id"], stream="stderr") == b"err\n"


async def test_broken_or_clashing_plugins_are_skipped(api: Api, manager: Any) -> None:
    # "bogus" is not an Executor; "local" may not replace the built-in one.
    assert sorted(manager.config.executors) == ["dask", "local", "thread"]
    assert type(manager.config.executors["local"]).__name__ == "LocalExecutor"
    from tornado.httpclient import HTTPClientError

    with pytest.raises(HTTPClientError) as info:
        await api.create(["true"], executor="thread", resources={"GPU": 1})
    assert info.value.code == 400
