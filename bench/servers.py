"""The servers under test, each its own subprocess on 127.0.0.1 with a random token."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil
from tornado.httpclient import AsyncHTTPClient, HTTPRequest

REPO = Path(__file__).resolve().parent.parent
PYTHON = sys.executable

# Extensions installed in the venv that have nothing to do with any measurement: off everywhere,
# so every Jupyter peer is the same bare jupyter_server plus exactly what it is measured for.
_UNRELATED = {"jupyterlab": False, "jupyter_lsp": False, "notebook_shim": False}


def _die_with_bench() -> None:
    """In the child before exec: get SIGTERM if the bench dies, so no server outlives it."""
    with contextlib.suppress(OSError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """A server process: start, wait until it answers, measure, stop."""

    kind = "server"

    def __init__(self, workdir: Path, label: str) -> None:
        self.label = label
        self.workdir = Path(tempfile.mkdtemp(prefix=f"{label}-", dir=workdir))
        self.root_dir = self.workdir / "root"
        self.root_dir.mkdir()
        self.token = secrets.token_hex(16)
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = self.workdir / "server.log"

    # -- to override ------------------------------------------------------------------------

    def argv(self) -> list[str]:
        raise NotImplementedError

    def env(self) -> dict[str, str]:
        return dict(os.environ)

    status_path = "/status"

    # -- lifecycle --------------------------------------------------------------------------

    async def start(self, timeout: float = 60.0, poll: float = 0.1) -> Server:
        """Start the process and return once ``status_path`` answers 200 (asked every
        ``poll`` seconds)."""
        self.port = free_port()
        log = open(self.log_path, "ab")  # noqa: SIM115 - the child owns it
        self.proc = subprocess.Popen(
            self.argv(),
            stdout=log,
            stderr=log,
            env=self.env(),
            cwd=self.workdir,
            stdin=subprocess.DEVNULL,
            preexec_fn=_die_with_bench,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.label} exited: {self.log_tail()}")
            try:
                response = await self.http("GET", self.status_path)
                if response.code == 200:
                    return self
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.label} did not start: {self.log_tail()}")
            await asyncio.sleep(poll)

    def log_tail(self, size: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-size:]
        except OSError:
            return ""

    async def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        for _ in range(200):
            if self.proc.poll() is not None:
                break
            await asyncio.sleep(0.05)
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    # -- measurement ------------------------------------------------------------------------

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def ps(self) -> psutil.Process:
        return psutil.Process(self.pid)

    def rss(self) -> int:
        return int(self.ps().memory_info().rss)

    def cpu_seconds(self) -> float:
        times = self.ps().cpu_times()
        return float(times.user + times.system)

    # -- HTTP -------------------------------------------------------------------------------

    async def http(self, method: str, path: str, body: Any = None) -> Any:
        data = json.dumps(body) if body is not None else ("" if method == "POST" else None)
        request = HTTPRequest(
            f"http://127.0.0.1:{self.port}{path}",
            method=method,
            body=data,
            headers={"Authorization": f"token {self.token}"},
            request_timeout=120,
        )
        return await AsyncHTTPClient().fetch(request, raise_error=False)

    async def json(self, method: str, path: str, body: Any = None) -> Any:
        response = await self.http(method, path, body)
        if response.code >= 400:
            raise RuntimeError(f"{method} {path}: {response.code} {response.body[:300]!r}")
        return json.loads(response.body) if response.body else None


class JupyterServer(Server):
    """``python -m jupyter_server`` with an isolated config, data and runtime dir."""

    kind = "jupyter"
    status_path = "/api/status"

    def __init__(self, workdir: Path, label: str, extensions: dict[str, bool], **config: Any):
        super().__init__(workdir, label)
        self.extensions = extensions
        self.config = config

    def argv(self) -> list[str]:
        config: dict[str, Any] = {
            "ServerApp": {
                "jpserver_extensions": {**_UNRELATED, **self.extensions},
                "ip": "127.0.0.1",
                "port": self.port,
                "port_retries": 0,
                "open_browser": False,
                "root_dir": str(self.root_dir),
                "allow_root": True,
            },
            "IdentityProvider": {"token": self.token},
        }
        for section, values in self.config.items():
            config.setdefault(section, {}).update(values)
        path = self.workdir / "jupyter_server_config.json"
        path.write_text(json.dumps(config, indent=1))
        return [PYTHON, "-m", "jupyter_server", f"--config={path}"]

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            PYTHONPATH=str(REPO),
            JUPYTER_CONFIG_DIR=str(self.workdir / "cfg"),
            JUPYTER_DATA_DIR=str(self.workdir / "jdata"),
            JUPYTER_RUNTIME_DIR=str(self.workdir / "runtime"),
            SHELL="/bin/bash",
        )
        for name in ("JUPYTER_TOKEN", "NEBULA_TOKEN", "NEBULA_URL"):
            env.pop(name, None)
        return env


def nebula_server(workdir: Path, **nebula: Any) -> JupyterServer:
    server = JupyterServer(
        workdir,
        "nebula",
        {"nebula_jupyter": True, "jupyter_server_terminals": False},
    )
    server.config["NebulaApp"] = {"data_dir": str(server.workdir / "nebula-data"), **nebula}
    return server


def terminals_server(workdir: Path) -> JupyterServer:
    return JupyterServer(
        workdir,
        "terminals",
        {"nebula_jupyter": False, "jupyter_server_terminals": True},
        ServerApp={"terminado_settings": {"shell_command": ["/bin/bash", "--norc", "--noprofile"]}},
    )


def kernel_server(workdir: Path, *, limit_rate: bool) -> JupyterServer:
    """Kernels, and nebula for kernel_print's ``nj.run`` paths; ``limit_rate`` is the default."""
    label = "kernel-default" if limit_rate else "kernel-unlimited"
    server = JupyterServer(
        workdir,
        label,
        {"nebula_jupyter": True, "jupyter_server_terminals": False},
        ZMQChannelsWebsocketConnection={"limit_rate": limit_rate},
    )
    server.config["NebulaApp"] = {"data_dir": str(server.workdir / "nebula-data")}
    return server


class CeilingServer(Server):
    kind = "ceiling"

    def __init__(self, workdir: Path) -> None:
        super().__init__(workdir, "ceiling")

    def argv(self) -> list[str]:
        return [PYTHON, "-m", "bench.ceiling", "--port", str(self.port)]

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(PYTHONPATH=str(REPO), BENCH_TOKEN=self.token)
        return env
