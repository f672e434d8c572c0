"""Run and watch background jobs from Jupyter.

Importing this package stays light: the server extension, the client and the widget are
loaded only when used, so a kernel without the widget stack can still ``import nebula_jupyter``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._version import __version__

if TYPE_CHECKING:
    from .api import Run, connect, iter_runs, run, runs
    from .widget import RunTerminal

__all__ = ["Run", "RunTerminal", "__version__", "connect", "iter_runs", "run", "runs"]

_LAZY = {
    "Run": "api",
    "connect": "api",
    "iter_runs": "api",
    "run": "api",
    "runs": "api",
    "RunTerminal": "widget",
}


def __getattr__(name: str) -> Any:
    """Import public names on first use to keep ``import nebula_jupyter`` cheap."""
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module 'nebula_jupyter' has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(f".{module_name}", __name__), name)
    globals()[name] = value
    return value


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    """Tell Jupyter Server where the extension app lives."""
    from .server.app import NebulaApp

    return [{"module": "nebula_jupyter", "app": NebulaApp}]


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    """Tell JupyterLab where the prebuilt extension lives (``jupyter labextension develop``)."""
    return [{"src": "labextension", "dest": "nebula-jupyter"}]
