"""Looking at real processes from tests: is a pid alive, which processes run a command."""

from __future__ import annotations

import os
from pathlib import Path

import psutil


def alive(pid: int) -> bool:
    """Say whether ``pid`` is a live process (a zombie has exited: it counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def read_pids(path: Path) -> list[int]:
    """Return the pids a child wrote to ``path``, one per line."""
    return [int(line) for line in path.read_text().split()] if path.exists() else []


def running(*argv: str) -> list[int]:
    """Return the pids of live (non-zombie) processes whose command line is exactly ``argv``."""
    found = []
    for proc in psutil.process_iter(["cmdline", "status"]):
        if proc.info["cmdline"] == list(argv) and proc.info["status"] != psutil.STATUS_ZOMBIE:
            found.append(proc.pid)
    return found
