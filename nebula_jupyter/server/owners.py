"""Which servers of a shared data dir are alive: an OS lock each holds for its lifetime.

Several Jupyter servers of one user share the default data dir (CONTRACT §1.2). Each takes an
exclusive ``flock`` on ``servers/<owner>.lock`` at start and holds it until it exits; the kernel
releases it when the process dies, however it dies. Another server can then tell a dead owner
from a live one by trying the lock: taking it proves the owner is gone (a pid could have been
reused; a lock cannot outlive its process).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import uuid
from pathlib import Path


class OwnerLock:
    """This server's identity in the data dir, held for as long as the server runs."""

    def __init__(self, data_dir: Path) -> None:
        self.directory = data_dir / "servers"
        self.directory.mkdir(parents=True, exist_ok=True)
        self.owner = uuid.uuid4().hex
        self._fd: int | None = os.open(self._path(self.owner), os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)

    def _path(self, owner: str) -> Path:
        return self.directory / f"{owner}.lock"

    def is_gone(self, owner: str | None) -> bool:
        """Say whether ``owner`` provably no longer runs (None: a record from before owners).

        Raises nothing; when it cannot tell, the owner is taken to be alive.
        """
        if owner is None:
            return True
        if owner == self.owner:
            return False
        try:
            fd = os.open(self._path(owner), os.O_RDWR)
        except FileNotFoundError:
            return True  # its owner stopped cleanly and removed it
        except OSError:
            return False  # cannot tell (e.g. out of descriptors): not *provably* gone
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        finally:
            os.close(fd)  # closing also drops the lock we may just have taken
        return True

    def forget(self, owner: str) -> None:
        """Remove a gone owner's lock file once its runs have been recovered."""
        if owner != self.owner:
            with contextlib.suppress(FileNotFoundError):
                self._path(owner).unlink()

    def release(self) -> None:
        """Give up this server's lock at a clean stop."""
        if self._fd is not None:
            with contextlib.suppress(FileNotFoundError):
                self._path(self.owner).unlink()
            os.close(self._fd)
            self._fd = None
