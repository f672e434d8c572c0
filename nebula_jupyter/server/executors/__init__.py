"""Executors by name: ``local`` and ``dask`` built in, others from entry points (CONTRACT §7)."""

from __future__ import annotations

import logging
from importlib.metadata import entry_points
from typing import Any

from .base import Executor, ExecutorUnavailable, LocalExecutor, LostCallback
from .dask import DaskExecutor

__all__ = [
    "ENTRY_POINT_GROUP",
    "DaskExecutor",
    "Executor",
    "ExecutorUnavailable",
    "LocalExecutor",
    "LostCallback",
    "load_executors",
]

log = logging.getLogger(__name__)

#: Third-party executors register here: ``name = "package.module:ExecutorClass"``.
ENTRY_POINT_GROUP = "nebula_jupyter.executors"

_BUILT_IN: dict[str, type[Executor]] = {"local": LocalExecutor, "dask": DaskExecutor}


def load_executors(parent: Any) -> dict[str, Executor]:
    """Instantiate every known executor as a child Configurable of ``parent``.

    A plug-in that fails to load is logged and skipped; it cannot replace a built-in one.
    """
    classes = dict(_BUILT_IN)
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        if entry.name in classes:
            continue
        try:
            loaded = entry.load()
        except Exception:
            log.exception("Executor %r could not be loaded; skipping it", entry.name)
            continue
        if not (isinstance(loaded, type) and issubclass(loaded, Executor)):
            log.error("Executor %r is not an Executor subclass; skipping it", entry.name)
            continue
        classes[entry.name] = loaded
    executors = {}
    for name, cls in classes.items():
        executor = cls(parent=parent)
        executor.name = name
        executors[name] = executor
    return executors
