"""Fixtures shared by every suite; helpers live in tests/support/ and are imported from there."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .support.dask_cluster import DaskCluster, dask_server_config, two_worker_cluster
from .support.jupyter import CANARY_TOKEN, Api

pytest_plugins = ["pytest_jupyter.jupyter_server", "tests.support.client_fixtures"]


@pytest.fixture
def nebula_config() -> dict[str, Any]:
    """Return NebulaApp settings for the test server (tests may override this fixture)."""
    return {
        "cancel_grace_seconds": 1.0,
        "drain_timeout_seconds": 1.0,
        "auth_timeout_seconds": 2.0,
        "tokens": [CANARY_TOKEN],
    }


@pytest.fixture
def run_executor(request: pytest.FixtureRequest) -> str:
    """Return the test server's default executor: "local", or "dask" for the tests marked
    ``support.jupyter.both_executors`` (CONTRACT §7: remote runs keep every guarantee)."""
    return str(getattr(request, "param", "local"))


@pytest.fixture(scope="session")
def shared_dask_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DaskCluster]:
    """One scheduler and two workers (one with GPU=1) for the tests that do not harm them."""
    with two_worker_cluster(tmp_path_factory.mktemp("dask")) as cluster:
        yield cluster


@pytest.fixture
def jp_server_config(
    nebula_config: dict[str, Any],
    tmp_path: Path,
    run_executor: str,
    request: pytest.FixtureRequest,
) -> dict[str, Any]:
    """Enable the extension with test-friendly timings and a per-test data dir."""
    config: dict[str, Any] = {
        "ServerApp": {"jpserver_extensions": {"nebula_jupyter": True}},
        "NebulaApp": {"data_dir": str(tmp_path / "nebula-data"), **nebula_config},
    }
    if run_executor == "dask":
        dask_server_config(config, request.getfixturevalue("shared_dask_cluster"))
    return config


@pytest.fixture
def manager(jp_serverapp: Any) -> Any:
    """Return the extension's run manager inside the test server."""
    return jp_serverapp.web_app.settings["nebula_manager"]


@pytest.fixture
def api(jp_fetch: Any, jp_ws_fetch: Any) -> Api:
    """Return REST/WebSocket helpers bound to the test server."""
    return Api(jp_fetch, jp_ws_fetch)
