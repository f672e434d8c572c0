"""The docs describe what the code does: every trait, every route."""

from __future__ import annotations

from pathlib import Path

import yaml

from nebula_jupyter.server.app import NebulaApp
from nebula_jupyter.server.executors import DaskExecutor

DOCS = Path(__file__).resolve().parent.parent / "docs"


def test_every_config_trait_is_documented_with_its_default() -> None:
    text = (DOCS / "config.md").read_text()
    for configurable in (NebulaApp, DaskExecutor):
        traits = configurable.class_own_traits(config=True)
        assert traits
        for name, trait in traits.items():
            assert f"`{name}`" in text, name
            assert "Default" in (trait.help or ""), f"{name} help must state its default"


def test_openapi_lists_every_rest_route() -> None:
    spec = yaml.safe_load((DOCS / "openapi.yaml").read_text())
    paths = spec["paths"]
    expected = {
        "/api/nebula/runs": {"get", "post"},
        "/api/nebula/runs/{id}": {"get", "delete"},
        "/api/nebula/runs/{id}/cancel": {"post"},
        "/api/nebula/runs/{id}/logs": {"get"},
    }
    for path, methods in expected.items():
        assert methods <= set(paths[path]), path
