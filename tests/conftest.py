"""Fixtures shared by every suite; helpers live in tests/support/ and are imported from there."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

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
def jp_server_config(nebula_config: dict[str, Any], tmp_path: Path) -> dict[str, Any]:
    """Enable the extension with test-friendly timings and a per-test data dir."""
    return {
        "ServerApp": {"jpserver_extensions": {"nebula_jupyter": True}},
        "NebulaApp": {"data_dir": str(tmp_path / "nebula-data"), **nebula_config},
    }


@pytest.fixture
def manager(jp_serverapp: Any) -> Any:
    """Return the extension's run manager inside the test server."""
    return jp_serverapp.web_app.settings["nebula_manager"]


@pytest.fixture
def api(jp_fetch: Any, jp_ws_fetch: Any) -> Api:
    """Return REST/WebSocket helpers bound to the test server."""
    return Api(jp_fetch, jp_ws_fetch)
