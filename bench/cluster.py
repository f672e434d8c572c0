"""A real Dask cluster for remote runs, and the nebula server that sends runs to it.

The scheduler and the worker are the programs a site runs (``dask scheduler``, ``dask worker``
from this virtualenv), each its own process on 127.0.0.1, with ``PYTHONPATH`` = this checkout
so the worker's agent is this checkout's. They live as long as the server that uses them: it
starts them before itself and stops them after itself; if the bench dies, they get SIGKILL.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil

from .servers import PYTHON, REPO, JupyterServer, Server, free_port


def _killed_with_bench() -> None:
    """In the child before exec: get SIGKILL if the bench dies. Not SIGTERM, as the servers
    get: a worker closing gracefully waits for its running tasks, and a task waits for its
    agent, which waits up to ``agent_lost_timeout_seconds`` for the (dead) server. Killed,
    the worker closes its agents' lifelines and they kill their runs at once."""
    with contextlib.suppress(OSError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def reaped_cpu(process: psutil.Process) -> float:
    """User+system seconds of ``process``'s children that have ended and been waited for."""
    times = process.cpu_times()
    return float(times.children_user + times.children_system)


def dask_command() -> str:
    found = shutil.which("dask", path=str(Path(PYTHON).parent))
    if not found:
        raise RuntimeError("no 'dask' command next to this Python: install nebula_jupyter[dask]")
    return found


class DaskCluster:
    """``dask scheduler`` and ``workers`` ``dask worker`` processes, started and stopped."""

    def __init__(self, directory: Path, workers: int = 1, threads: int = 4) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self.workers = workers
        self.threads = threads
        self.port = free_port()
        self.address = f"tcp://127.0.0.1:{self.port}"
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def _env(self) -> dict[str, str]:
        env = dict(os.environ, PYTHONPATH=str(REPO))
        # Secrets a run must never see; the agent scrubs its environment too, but the bench
        # does not rely on the code under test for that.
        for name in ("JUPYTER_TOKEN", "NEBULA_TOKEN", "NEBULA_URL"):
            env.pop(name, None)
        return env

    def _spawn(self, name: str, *args: str) -> None:
        log = open(self.directory / f"{name}.log", "ab")  # noqa: SIM115 - the child owns it
        try:
            self.procs[name] = subprocess.Popen(
                [dask_command(), *args],
                stdout=log,
                stderr=log,
                stdin=subprocess.DEVNULL,
                env=self._env(),
                cwd=self.directory,
                preexec_fn=_killed_with_bench,
            )
        finally:
            log.close()

    def log(self, name: str, size: int = 3000) -> str:
        path = self.directory / f"{name}.log"
        return path.read_text(errors="replace")[-size:] if path.exists() else ""

    async def _wait(self, name: str, ready: Callable[[], bool], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not ready():
            if self.procs[name].poll() is not None:
                raise RuntimeError(f"dask {name} exited: {self.log(name)}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"dask {name} did not start: {self.log(name)}")
            await asyncio.sleep(0.1)

    def _listening(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                return True
        except OSError:
            return False

    async def start(self, timeout: float = 60.0) -> DaskCluster:
        """Start the scheduler, then the workers; return once every worker has registered."""
        try:
            self._spawn(
                "scheduler",
                *("scheduler", "--host", "127.0.0.1", "--port", str(self.port)),
                "--no-dashboard",
            )
            await self._wait("scheduler", self._listening, timeout)
            for index in range(self.workers):
                name = f"worker-{index}"
                self._spawn(
                    name,
                    *("worker", self.address, "--name", name, "--nthreads", str(self.threads)),
                    # No nanny: the worker is one process, so its children are the agents.
                    *("--no-nanny", "--no-dashboard", "--host", "127.0.0.1"),
                    *("--local-directory", str(self.directory / f"space-{index}")),
                )
            for index in range(self.workers):
                name = f"worker-{index}"
                await self._wait(name, lambda n=name: "Registered to:" in self.log(n), timeout)
        except BaseException:
            await self.stop()
            raise
        return self

    def _workers(self) -> list[psutil.Process]:
        return [
            psutil.Process(proc.pid)
            for name, proc in self.procs.items()
            if name != "scheduler" and proc.poll() is None
        ]

    def reaped_cpu(self) -> float:
        """User+system seconds of the workers' children that have ended: the agents and, as
        each agent waits for its command, the commands."""
        return sum(reaped_cpu(worker) for worker in self._workers())

    def agents(self) -> int:
        """How many agent processes the workers have, running or not yet waited for (an idle
        worker has no child; the task waits for its agent, so its CPU is then counted)."""
        return sum(len(worker.children()) for worker in self._workers())

    async def agents_ended(self, timeout: float = 30.0) -> bool:
        """Wait until no agent runs (each ends shortly after its run's end is stored)."""
        deadline = time.monotonic() + timeout
        while self.agents():
            if time.monotonic() > deadline:
                return False
            await asyncio.sleep(0.01)
        return True

    async def stop(self) -> None:
        """Workers first (their agents end with them), then the scheduler."""
        for name in sorted(self.procs, key=lambda n: n == "scheduler"):
            proc = self.procs[name]
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
            for _ in range(100):
                if proc.poll() is not None:
                    break
                await asyncio.sleep(0.05)
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                proc.wait()
        self.procs.clear()


class NebulaDaskServer(JupyterServer):
    """The nebula server (as :func:`bench.servers.nebula_server`) with a Dask cluster of its
    own as ``c.DaskExecutor.scheduler_address``; local runs work on it as on any nebula."""

    def __init__(self, workdir: Path, workers: int = 1, **nebula: Any) -> None:
        super().__init__(
            workdir, "nebula-dask", {"nebula_jupyter": True, "jupyter_server_terminals": False}
        )
        self.cluster = DaskCluster(self.workdir / "dask", workers=workers)
        self.config["NebulaApp"] = {"data_dir": str(self.workdir / "nebula-data"), **nebula}
        self.config["DaskExecutor"] = {"scheduler_address": self.cluster.address}

    async def start(self, timeout: float = 60.0, poll: float = 0.1) -> Server:
        await self.cluster.start(timeout)
        try:
            return await super().start(timeout, poll)
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
        try:
            await super().stop()
        finally:
            await self.cluster.stop()

    def log_tail(self, size: int = 3000) -> str:
        return super().log_tail(size) + "\n--- dask worker-0 ---\n" + self.cluster.log("worker-0")
