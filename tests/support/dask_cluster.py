"""A real Dask cluster for tests: ``dask scheduler`` and ``dask worker`` as separate processes.

No mock and no in-process fake (CONTRACT §7 tests): the scheduler and each worker are the
programs a site runs, started from this virtualenv. A missing ``dask`` command fails the
test, it never skips it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil

from .server_process import ROOT, free_port
from .waiting import wait_until


def _dask_command() -> str:
    found = shutil.which("dask", path=str(Path(sys.executable).parent))
    assert found, "the 'dask' command is missing: install the test extra (it includes dask)"
    return found


class DaskCluster:
    """A scheduler and named workers; ``kill_worker`` and friends act on real processes."""

    def __init__(self, tmp_path: Path) -> None:
        tmp_path.mkdir(parents=True, exist_ok=True)
        self.tmp_path = tmp_path
        self.port = free_port()
        self.address = f"tcp://127.0.0.1:{self.port}"
        self.scheduler: subprocess.Popen[bytes] | None = None
        self.workers: dict[str, subprocess.Popen[bytes]] = {}
        self._env = dict(os.environ, PYTHONPATH=str(ROOT), DASK_DISTRIBUTED__WORKER__DAEMON="False")

    def _spawn(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        log = open(self.tmp_path / f"{name}.log", "ab")  # noqa: SIM115 - the child owns it
        try:
            return subprocess.Popen(
                [_dask_command(), *args],
                stdout=log,
                stderr=log,
                env=self._env,
                cwd=self.tmp_path,
                start_new_session=True,
            )
        finally:
            log.close()

    def start(self) -> None:
        """Start the scheduler and wait until it accepts connections."""
        self.scheduler = self._spawn(
            "scheduler",
            "scheduler",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--no-dashboard",
        )
        wait_until(self._scheduler_listening, 30, interval=0.1)

    def _scheduler_listening(self) -> bool:
        assert self.scheduler is not None
        if self.scheduler.poll() is not None:
            raise AssertionError(self.log("scheduler"))
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                return True
        except OSError:
            return False

    def add_worker(self, name: str, *, resources: str | None = None) -> None:
        """Start ``dask worker --name <name>`` (no nanny: its pid is the worker's)."""
        args = [
            "worker",
            self.address,
            "--name",
            name,
            "--nthreads",
            "8",
            "--no-nanny",
            "--no-dashboard",
            "--host",
            "127.0.0.1",
            "--local-directory",
            str(self.tmp_path / f"space-{name}"),
        ]
        if resources:
            args += ["--resources", resources]
        self.workers[name] = self._spawn(f"worker-{name}", *args)
        wait_until(lambda: self._registered(name), 60, interval=0.1)
        assert self.workers[name].poll() is None, self.log(f"worker-{name}")

    def _registered(self, name: str) -> bool:
        return self.workers[name].poll() is not None or "Registered to:" in self.log(
            f"worker-{name}"
        )

    def log(self, name: str) -> str:
        path = self.tmp_path / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def worker_pid(self, name: str) -> int:
        return self.workers[name].pid

    def kill_worker(self, name: str) -> None:
        """SIGKILL one worker process, as the OOM killer or a lost node would."""
        self.workers[name].send_signal(signal.SIGKILL)
        self.workers[name].wait()

    def agent_pids(self, name: str) -> list[int]:
        """Return the pids of the agent processes a worker started."""
        try:
            worker = psutil.Process(self.worker_pid(name))
            return [
                child.pid
                for child in worker.children()
                if "nebula_jupyter.agent" in " ".join(child.cmdline())
            ]
        except psutil.NoSuchProcess:
            return []

    def stop(self) -> None:
        """Stop every process of the cluster, whatever state it is in."""
        for proc in [*self.workers.values(), self.scheduler]:
            if proc is not None and proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


@contextlib.contextmanager
def two_worker_cluster(tmp_path: Path) -> Iterator[DaskCluster]:
    """A scheduler with workers "cpu" and "gpu" (the latter declaring GPU=1), stopped after."""
    cluster = DaskCluster(tmp_path)
    try:
        cluster.start()
        cluster.add_worker("cpu")
        cluster.add_worker("gpu", resources="GPU=1")
        yield cluster
    finally:
        cluster.stop()


def dask_server_config(config: dict[str, Any], cluster: DaskCluster) -> dict[str, Any]:
    """Make a test server's config send runs to ``cluster`` by default."""
    config["NebulaApp"]["default_executor"] = "dask"
    # A stopped test server leaves its remote runs to "the next server"; their agents give up
    # (and kill their trees) this soon, so they do not hold the shared workers' threads.
    config["NebulaApp"]["agent_lost_timeout_seconds"] = 3.0
    config["DaskExecutor"] = {"scheduler_address": cluster.address}
    return config
