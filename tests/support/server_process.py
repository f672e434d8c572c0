"""A Jupyter server with the extension in a child process, for crash and memory tests."""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import tornado.httpclient
import tornado.websocket
from tornado.httpclient import HTTPRequest

from .waiting import wait_for

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServerProcess:
    """Start, stop, crash and query a real ``jupyter server`` process."""

    def __init__(
        self, tmp_path: Path, base_url: str = "/s%40rv/", data_dir: Path | None = None
    ) -> None:
        tmp_path.mkdir(parents=True, exist_ok=True)
        self.tmp_path = tmp_path
        self.data_dir = data_dir or tmp_path / "data"
        self.root_dir = tmp_path / "root"
        self.root_dir.mkdir(exist_ok=True)
        self.base_url = base_url
        self.token = secrets.token_hex(16)
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = 0
        self.log_path = tmp_path / "server.log"

    async def start(self, config: dict[str, Any] | None = None, **nebula: Any) -> None:
        """Start the server and wait until the extension answers.

        ``nebula`` are NebulaApp settings; ``config`` adds other sections (e.g. DaskExecutor).
        The port stays the same across a stop and a start (agents reconnect to it).
        """
        self.port = self.port or free_port()
        config = {
            "ServerApp": {
                "jpserver_extensions": {"nebula_jupyter": True},
                "port": self.port,
                "port_retries": 0,
                "ip": "127.0.0.1",
                "open_browser": False,
                "base_url": self.base_url,
                "root_dir": str(self.root_dir),
                "allow_root": True,
            },
            "IdentityProvider": {"token": self.token},
            "NebulaApp": {
                "data_dir": str(self.data_dir),
                "cancel_grace_seconds": 1.0,
                "drain_timeout_seconds": 1.0,
                **nebula,
            },
            **(config or {}),
        }
        config_path = self.tmp_path / "jupyter_server_config.json"
        config_path.write_text(json.dumps(config))
        env = dict(
            os.environ,
            PYTHONPATH=str(ROOT),
            JUPYTER_CONFIG_DIR=str(self.tmp_path / "cfg"),
            JUPYTER_DATA_DIR=str(self.tmp_path / "jdata"),
            JUPYTER_RUNTIME_DIR=str(self.tmp_path / "runtime"),
        )
        log = open(self.log_path, "ab")  # noqa: SIM115 - the child owns it
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "jupyter_server", f"--config={config_path}"],
            stdout=log,
            stderr=log,
            env=env,
            cwd=self.tmp_path,
        )
        log.close()

        async def ready() -> bool:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited: {self.log_path.read_text()[-2000:]}")
            try:
                response = await self.fetch("GET", "runs")
            except OSError:
                return False
            return response.code == 200

        await wait_for(ready, 30, interval=0.1)

    def url(self, path: str, scheme: str = "http") -> str:
        return f"{scheme}://127.0.0.1:{self.port}{self.base_url}api/nebula/{path}"

    async def fetch(self, method: str, path: str, body: object = None) -> Any:
        data = json.dumps(body) if body is not None else ("" if method == "POST" else None)
        request = HTTPRequest(
            self.url(path),
            method=method,
            body=data,
            headers={"Authorization": f"token {self.token}"},
        )
        return await tornado.httpclient.AsyncHTTPClient().fetch(request, raise_error=False)

    async def json(self, method: str, path: str, body: object = None) -> Any:
        response = await self.fetch(method, path, body)
        assert response.code < 400, (response.code, response.body)
        return json.loads(response.body) if response.body else None

    async def connect(self, run_id: str, query: str = "") -> Any:
        request = HTTPRequest(
            self.url(f"runs/{run_id}/stream{query}", "ws"),
            headers={"Authorization": f"token {self.token}"},
        )
        return await tornado.websocket.websocket_connect(request, max_message_size=1 << 30)

    async def wait_done(self, run_id: str, timeout: float = 30) -> dict[str, Any]:
        async def done() -> dict[str, Any] | None:
            record = await self.json("GET", f"runs/{run_id}")
            return record if record["status"] in ("succeeded", "failed", "cancelled") else None

        return await wait_for(done, timeout, interval=0.1)

    async def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
        """Signal the server and wait for it to exit; return its exit code."""
        assert self.proc is not None
        self.proc.send_signal(sig)
        code = await wait_for(lambda: self.proc.poll() is not None and (self.proc.poll(),), timeout)
        self.proc = None
        return int(code[0])

    def kill(self) -> None:
        """Stop the server at the end of a test, whatever state it is in."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
