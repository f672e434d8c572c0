"""The ``nebula`` command line: ``commands`` (one function per subcommand) and ``console``."""

from __future__ import annotations

from .commands import main

__all__ = ["main"]
