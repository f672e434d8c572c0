"""A real JupyterLab with the extension, in a child process the browser tests drive."""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import quote

import nbformat

from .polling import poll

ROOT = Path(__file__).resolve().parents[2]

# A base URL that needs quoting: the widget must never assume "/" or build paths by hand.
BASE_URL = "/lab%40x/"

# The JupyterLab extension's name: js/package.json "name", its share/jupyter/labextensions/ dir.
LABEXTENSION = "nebula-jupyter"

# JupyterLab user settings for the session (JUPYTERLAB_SETTINGS_DIR): no news prompt, and
# widget state saved into notebooks, so the "no token in the notebook" test sees real state.
USER_SETTINGS = {
    "@jupyterlab/apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
    "@jupyter-widgets/jupyterlab-manager/plugin": {"saveState": True},
}

# What a developer's shell (or an enclosing Jupyter) may hold: the server under test must
# hand its kernels its own URL and secret, never these.
_SCRUBBED_ENV = (
    "NEBULA_URL",
    "NEBULA_TOKEN",
    "NEBULA_KERNEL_URL",
    "NEBULA_KERNEL_SECRET",
    "JUPYTER_TOKEN",
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def labextension_path(workdir: Path) -> str:
    """The JUPYTER_PATH entry that makes Lab load this checkout's JupyterLab extension (as
    `jupyter labextension develop` would) when it is built, ahead of the copy an editable
    install put in sys.prefix at install time; "" otherwise (an installed nebula_jupyter)."""
    built = ROOT / "nebula_jupyter" / "labextension"
    if not (built / "package.json").is_file():
        return ""
    data = workdir / "jupyter-path"
    link = data / "labextensions" / LABEXTENSION
    link.parent.mkdir(parents=True, exist_ok=True)
    if not link.is_symlink():
        link.symlink_to(built, target_is_directory=True)
    return str(data)


def package_path() -> str:
    """The PYTHONPATH entry for the server and its kernels: this checkout when its widget is
    built, else nothing (an installed nebula_jupyter, e.g. after `pip install .`)."""
    if (ROOT / "nebula_jupyter" / "static" / "widget.js").is_file():
        return str(ROOT)
    found = subprocess.run(
        [sys.executable, "-c", "import nebula_jupyter.widget as w; print(w._STATIC)"],
        capture_output=True,
        text=True,
        cwd="/",
        env={**os.environ, "PYTHONPATH": ""},
        check=False,
    )
    static = Path(found.stdout.strip() or "/nonexistent")
    if found.returncode != 0 or not (static / "widget.js").is_file():
        raise RuntimeError(
            "The widget front end is not built: run `cd js && npm install && npm run build` "
            "(or `pip install .`) first."
        )
    return ""


class LabServer:
    """Start, query and stop ``python -m jupyterlab`` with nebula_jupyter enabled."""

    def __init__(self, workdir: Path, nebula_config: dict[str, Any] | None = None) -> None:
        self.workdir = workdir
        self.nebula_config = nebula_config or {}
        self.root_dir = workdir / "notebooks"
        self.root_dir.mkdir(parents=True, exist_ok=True)
        self.token = secrets.token_hex(24)
        self.port = free_port()
        self.base_url = BASE_URL
        self.log_path = workdir / "jupyterlab.log"
        self.proc: subprocess.Popen[bytes] | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self, timeout: float = 90.0) -> None:
        """Start the server; raise RuntimeError (with its log) if it exits or never answers."""
        command = [
            sys.executable,
            "-m",
            "jupyterlab",
            "--no-browser",
            f"--IdentityProvider.token={self.token}",
            f"--ServerApp.base_url={self.base_url}",
            f"--port={self.port}",
            "--ServerApp.port_retries=0",
            "--ip=127.0.0.1",
            f"--ServerApp.root_dir={self.root_dir}",
            "--ServerApp.allow_root=True",
        ]
        with open(self.log_path, "ab") as log:
            # Its own process group: teardown can take down the server and its kernels even
            # when the server hangs.
            self.proc = subprocess.Popen(
                command,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self._environment(),
                cwd=self.workdir,
                start_new_session=True,
            )
        try:
            poll(self._answers, timeout, "JupyterLab answering", interval=0.2)
        except AssertionError as err:
            raise RuntimeError(f"{err}\n{self.log_tail()}") from None

    def _environment(self) -> dict[str, str]:
        config_dir = self.workdir / "config"
        config_dir.mkdir(exist_ok=True)
        # The extension is enabled through config, as the installed package's jupyter-config
        # file does: this works from a checkout (PYTHONPATH) and after `pip install .` alike.
        config = {
            "ServerApp": {"jpserver_extensions": {"nebula_jupyter": True}},
            "NebulaApp": {
                "data_dir": str(self.workdir / "nebula-data"),
                "cancel_grace_seconds": 2.0,
                "drain_timeout_seconds": 1.0,
                **self.nebula_config,
            },
            # window.jupyterapp: tests run commands by id, as another extension would.
            "LabApp": {"expose_app_in_browser": True},
            "JupyterNotebookApp": {"expose_app_in_browser": True},
        }
        (config_dir / "jupyter_server_config.json").write_text(json.dumps(config))
        settings_dir = self.workdir / "lab-settings"
        for plugin, values in USER_SETTINGS.items():
            path = settings_dir / f"{plugin}.jupyterlab-settings"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(values))

        env = {k: v for k, v in os.environ.items() if k not in _SCRUBBED_ENV}
        env.update(
            PYTHONPATH=os.pathsep.join(filter(None, [package_path(), env.get("PYTHONPATH")])),
            JUPYTER_PATH=os.pathsep.join(
                filter(None, [labextension_path(self.workdir), env.get("JUPYTER_PATH")])
            ),
            # Runs started from the file browser run `python <file>`: the Python of this
            # environment, as for a user who started Lab from it.
            PATH=os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")]),
            JUPYTER_CONFIG_DIR=str(config_dir),
            JUPYTER_DATA_DIR=str(self.workdir / "data"),
            JUPYTER_RUNTIME_DIR=str(self.workdir / "runtime"),
            JUPYTERLAB_SETTINGS_DIR=str(settings_dir),
            JUPYTERLAB_WORKSPACES_DIR=str(self.workdir / "workspaces"),
            PYTHONUNBUFFERED="1",
        )
        return env

    def _answers(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise RuntimeError(f"JupyterLab exited with {self.proc.returncode}:\n{self.log_tail()}")
        try:
            return (
                self.request("GET", "api/nebula/runs")[0] == 200
                and self.request("GET", "lab/api/settings")[0] == 200
            )
        except OSError:
            return False

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)  # graceful: the extension cancels runs, kernels stop
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()

    def log_tail(self, chars: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return "(no log)"

    # -- URLs and REST -----------------------------------------------------------------------

    def url(self, path: str = "") -> str:
        return f"http://127.0.0.1:{self.port}{self.base_url}{path}"

    def notebook_url(self, name: str) -> str:
        # `reset` starts from the default layout: the workspace is shared by every test.
        return self.url(f"lab/tree/{quote(name)}?reset&token={self.token}")

    def notebook7_url(self, name: str) -> str:
        """The same notebook in the Notebook 7 UI (the `notebook` package's server extension,
        enabled by its own jupyter-config file, serves `<base>tree/` and `<base>notebooks/`)."""
        return self.url(f"notebooks/{quote(name)}?token={self.token}")

    def request(
        self, method: str, path: str, body: object = None, timeout: float = 10.0
    ) -> tuple[int, bytes]:
        data = None if body is None else json.dumps(body).encode()
        if method in ("POST", "PUT", "PATCH") and data is None:
            data = b""
        request = urllib.request.Request(
            self.url(path),
            data=data,
            method=method,
            headers={"Authorization": f"token {self.token}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as err:
            return err.code, err.read()

    def json(self, method: str, path: str, body: object = None) -> Any:
        status, payload = self.request(method, path, body)
        assert status < 400, (method, path, status, payload[:500])
        return json.loads(payload) if payload else None

    def create_run(self, command: list[str] | str, **fields: Any) -> dict[str, Any]:
        return dict(self.json("POST", "api/nebula/runs", {"command": command, **fields}))

    def run_record(self, run_id: str) -> dict[str, Any]:
        return dict(self.json("GET", f"api/nebula/runs/{run_id}"))

    def run_logs(self, run_id: str) -> bytes:
        status, payload = self.request("GET", f"api/nebula/runs/{run_id}/logs", timeout=60)
        assert status == 200, status
        return payload

    def shutdown_kernels(self) -> None:
        """Stop every kernel session: each test starts its own and the machine is small."""
        for session in self.json("GET", "api/sessions") or []:
            self.request("DELETE", f"api/sessions/{session['id']}", timeout=30)

    # -- notebooks ---------------------------------------------------------------------------

    def write_notebook(self, name: str, *cells: str) -> Path:
        notebook = nbformat.v4.new_notebook()
        notebook.metadata["kernelspec"] = {
            "name": "python3",
            "display_name": "Python 3 (ipykernel)",
            "language": "python",
        }
        notebook.cells = [nbformat.v4.new_code_cell(source) for source in cells]
        path = self.root_dir / name
        nbformat.write(notebook, path)
        return path
