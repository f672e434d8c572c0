"""Every process a run started, including the ones that left its process group (CONTRACT §1).

A run's main process leads a new session (``start_new_session``), so its session id is its pid,
and every process of the run carries ``NEBULA_RUN_ID=<id>`` in its environment. Signalling the
process group alone misses descendants that moved to a group of their own (GNU ``timeout``,
job-control shells); this module also finds them:

- by **session**: a descendant that changed its group but not its session;
- by **marker**: a descendant that left the session (``setsid``) but kept the environment.

Only a process that both leaves the session and scrubs the marker escapes (documented in
docs/config.md). Linux ``/proc`` is read directly; elsewhere only the group is signalled.
Reading ``/proc`` is page-cache I/O of a few milliseconds, done only when a run ends or is
cancelled, never per output chunk.
"""

from __future__ import annotations

import contextlib
import os
import signal
from pathlib import Path

from ..protocol import RUN_ID_ENV

_PROC = Path("/proc")


def run_pids(run_id: str, session_id: int | None) -> set[int]:
    """Return the pids of the live processes of a run (never this server's own pid).

    ``session_id`` is the run's main pid while its session may still exist, or None when
    only the marker can be trusted (after a server crash the pid may have been reused).
    """
    if not _PROC.is_dir():
        return set()
    marker = f"{RUN_ID_ENV}={run_id}".encode()
    found = set()
    own = os.getpid()
    for entry in os.scandir(_PROC):
        if not entry.name.isdigit() or int(entry.name) == own:
            continue
        pid = int(entry.name)
        try:
            if session_id is not None and os.getsid(pid) == session_id:
                found.add(pid)
                continue
            with open(f"/proc/{pid}/environ", "rb") as environ:
                if marker in environ.read().split(b"\0"):
                    found.add(pid)
        except OSError:
            continue  # gone meanwhile, or another user's process: not ours to read or kill
    return found


def signal_run(run_id: str, session_id: int | None, signum: signal.Signals) -> int:
    """Send ``signum`` to every process of a run; return how many were signalled.

    With a ``session_id`` the run's process group is signalled first (atomic for the common
    case of a tree that stayed together), then every straggler found by :func:`run_pids`.
    """
    return signal_group(session_id, signum) + signal_stragglers(run_id, session_id, signum)


def signal_group(session_id: int | None, signum: signal.Signals) -> int:
    """Signal the run's process group (its main pid's, which leads it); instant, no scan."""
    if session_id is None:
        return 0
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(session_id, signum)
        return 1
    return 0


def signal_stragglers(run_id: str, session_id: int | None, signum: signal.Signals) -> int:
    """Signal the run's processes outside its group; scans ``/proc`` (run it off the loop)."""
    count = 0
    for pid in run_pids(run_id, session_id):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signum)
            count += 1
    return count
