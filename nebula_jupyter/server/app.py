"""``NebulaApp``: the server extension's configuration, wiring, and shutdown."""

from __future__ import annotations

import asyncio
import datetime
import logging
import os
from pathlib import Path
from typing import Any

from jupyter_core.paths import jupyter_data_dir
from jupyter_server.extension.application import ExtensionApp
from jupyter_server.serverapp import ServerApp
from tornado.ioloop import IOLoop, PeriodicCallback
from tornado.websocket import WebSocketHandler
from traitlets import Bool, Dict, Float, Int, List, Unicode, default, validate

from .. import protocol
from ..process.environment import child_environment
from ..protocol import KERNEL_SECRET_ENV, KERNEL_URL_ENV
from .agents import AgentSocketHandler
from .auth import ExtensionCredentials
from .executors import DaskExecutor, load_executors
from .manager import ManagerConfig, RunManager
from .owners import OwnerLock
from .rest import CancelHandler, LogsHandler, RunHandler, RunsHandler
from .retention import Retention
from .run import RunTimings
from .storage import Storage
from .websocket import RunStreamHandler

_ID = r"(?P<run_id>[^/]+)"
ACTIVITY_INTERVAL_SECONDS = 30


class NebulaApp(ExtensionApp):
    """Run background jobs from Jupyter and stream their output."""

    name = "nebula_jupyter"
    load_other_extensions = True
    classes = [DaskExecutor]

    data_dir = Unicode(
        "",
        config=True,
        help="Directory for run records and logs. Default: '<jupyter data dir>/nebula'.",
    )
    max_concurrent_runs = Int(
        8, config=True, help="How many runs execute at once; the rest queue (FIFO). Default: 8."
    )
    max_queued_runs = Int(
        100,
        config=True,
        help="How many runs may wait; creating one more answers 429. Default: 100.",
    )
    retention_seconds = Float(
        90 * 24 * 3600.0,
        config=True,
        help=(
            "Finished runs older than this many seconds (by finish time) are deleted with "
            "their output; 0 keeps them forever. Active runs are never deleted. "
            "Default: 7776000 (90 days)."
        ),
    )
    max_stored_bytes = Int(
        0,
        config=True,
        help=(
            "When the stored output of all runs exceeds this many bytes, the oldest finished "
            "runs are deleted until it does not; 0 means no limit. Default: 0."
        ),
    )
    retention_interval_seconds = Float(
        60.0,
        config=True,
        help="Seconds between two retention passes (the first runs at start-up). Default: 60.",
    )
    cancel_grace_seconds = Float(
        5.0,
        config=True,
        help="Seconds between SIGTERM and SIGKILL to a cancelled run's process group. Default: 5.",
    )
    drain_timeout_seconds = Float(
        5.0,
        config=True,
        help=(
            "Seconds to keep reading pipes after the main process exited, when a leftover "
            "descendant still holds them open. Default: 5."
        ),
    )
    auth_timeout_seconds = Float(
        10.0,
        config=True,
        help="Seconds a WebSocket without credentials has to send its auth message. Default: 10.",
    )
    tokens = List(
        Unicode(),
        config=True,
        help=(
            "Extra tokens accepted on every endpoint besides Jupyter's identity. Default: the "
            "value of the NEBULA_TOKEN environment variable if set, else none."
        ),
    )
    inherit_env = Bool(
        True,
        config=True,
        help=(
            "Whether runs inherit the server's environment (secrets such as tokens are always "
            "removed). Default: True."
        ),
    )
    child_env = Dict(
        value_trait=Unicode(),
        config=True,
        help=(
            "Variables every run gets, over the inherited environment and under the request's "
            "'env'. Default: PYTHONUNBUFFERED=1, PYTHONIOENCODING=utf-8, TERM=xterm-256color, "
            "COLORTERM=truecolor."
        ),
    )

    default_executor = Unicode(
        "local",
        config=True,
        help=(
            "The executor of runs created without 'executor': 'local' (children of this "
            "server), 'dask', or an entry point of the group 'nebula_jupyter.executors'. "
            "Default: 'local'."
        ),
    )
    agent_url = Unicode(
        "",
        config=True,
        help=(
            "This server's base URL as remote agents reach it, e.g. "
            "'http://jupyter.example.org:8888/user/ann/'. Default: '' (the server's own "
            "connection URL, which agents on other machines reach only if it names this host)."
        ),
    )
    agent_lost_timeout_seconds = Float(
        30.0,
        config=True,
        help=(
            "Seconds a started remote run may go without its agent (a dropped connection, a "
            "server restart) before it ends failed with reason 'worker_lost'. Default: 30."
        ),
    )

    @default("tokens")
    def _default_tokens(self) -> list[str]:
        token = os.environ.get(protocol.TOKEN_ENV, "")
        return [token] if token else []

    @default("child_env")
    def _default_child_env(self) -> dict[str, str]:
        return {
            "PYTHONUNBUFFERED": "1",
            "PYTHONIOENCODING": "utf-8",
            "TERM": "xterm-256color",
            "COLORTERM": "truecolor",
        }

    @validate("max_concurrent_runs")
    def _validate_concurrency(self, proposal: Any) -> int:
        value = int(proposal["value"])
        if value < 1:
            raise ValueError("max_concurrent_runs must be at least 1")
        return value

    @property
    def _server(self) -> ServerApp:
        assert self.serverapp is not None, "the extension runs inside a Jupyter server"
        return self.serverapp

    def initialize_settings(self) -> None:
        """Open storage, recover stored runs, and publish the manager to the handlers."""
        self._route_logs()
        data_dir = Path(self.data_dir or os.path.join(jupyter_data_dir(), "nebula"))
        self.credentials = ExtensionCredentials(self.tokens)
        self.storage = Storage(data_dir)
        executors = load_executors(self)
        if self.default_executor not in executors:
            known = ", ".join(sorted(executors))
            raise ValueError(f"c.NebulaApp.default_executor must be one of {known}")
        self.manager = RunManager(
            self.storage,
            OwnerLock(data_dir),
            ManagerConfig(
                root_dir=Path(self._server.root_dir),
                env_factory=self._child_env,
                child_env=dict(self.child_env),
                executors=executors,
                default_executor=self.default_executor,
                agent_url=self.agent_url or self._server.connection_url,
                agent_lost_timeout_seconds=self.agent_lost_timeout_seconds,
                max_concurrent_runs=self.max_concurrent_runs,
                max_queued_runs=self.max_queued_runs,
                retention=Retention(
                    max_age_seconds=self.retention_seconds,
                    max_stored_bytes=self.max_stored_bytes,
                    interval_seconds=self.retention_interval_seconds,
                ),
                timings=RunTimings(
                    cancel_grace_seconds=self.cancel_grace_seconds,
                    drain_timeout_seconds=self.drain_timeout_seconds,
                ),
            ),
        )
        self.manager.recover()
        self.sockets: set[WebSocketHandler] = set()
        self.settings.update(
            nebula_manager=self.manager,
            nebula_credentials=self.credentials,
            nebula_sockets=self.sockets,
            nebula_auth_timeout_seconds=self.auth_timeout_seconds,
        )
        self._activity = PeriodicCallback(self._mark_activity, ACTIVITY_INTERVAL_SECONDS * 1000)
        IOLoop.current().add_callback(self._on_loop_started)
        self.log.info("nebula_jupyter: storing runs in %s", data_dir)

    def _route_logs(self) -> None:
        # The core modules log to "nebula_jupyter.*" (no Jupyter imports below the handlers);
        # show those lines where the server's own go, with its format and level.
        package = logging.getLogger("nebula_jupyter")
        server_log = self.log if isinstance(self.log, logging.Logger) else None
        if server_log is not None and server_log.handlers:
            package.handlers = list(server_log.handlers)
            package.setLevel(server_log.getEffectiveLevel())
            package.propagate = False

    def initialize_handlers(self) -> None:
        """Register the REST and WebSocket routes under the server's base URL."""
        self.handlers.extend(
            [
                (r"/api/nebula/runs/?", RunsHandler),
                (rf"/api/nebula/runs/{_ID}/?", RunHandler),
                (rf"/api/nebula/runs/{_ID}/cancel/?", CancelHandler),
                (rf"/api/nebula/runs/{_ID}/logs/?", LogsHandler),
                (rf"/api/nebula/runs/{_ID}/stream/?", RunStreamHandler),
                (rf"/api/nebula/agents/{_ID}/?", AgentSocketHandler),
            ]
        )

    def _child_env(self) -> dict[str, str]:
        inherited = dict(os.environ) if self.inherit_env else {}
        server_token = getattr(self._server.identity_provider, "token", "") or ""
        return child_environment(
            inherited, self.child_env, [server_token, *self.credentials.secrets()]
        )

    def _on_loop_started(self) -> None:
        # The port is bound once the loop runs, so the URL handed to kernels is the real one.
        os.environ[KERNEL_URL_ENV] = self._server.connection_url
        os.environ[KERNEL_SECRET_ENV] = self.credentials.kernel_secret
        self._activity.start()
        self._mark_activity()
        self.manager.start()

    def _mark_activity(self) -> None:
        # Jupyter's idle culling counts every '*_last_activity' setting: active runs keep
        # the server alive even when they print nothing for a long time.
        if self.manager.active_count:
            self._server.web_app.settings["nebula_last_activity"] = datetime.datetime.now(
                datetime.UTC
            )

    async def stop_extension(self) -> None:
        """Cancel active runs, wait for their processes, and close every socket with 1001."""
        # initialize_settings may have failed half-way; stopping must still work.
        activity = getattr(self, "_activity", None)
        if activity is not None:
            activity.stop()
        manager = getattr(self, "manager", None)
        if manager is not None:
            await manager.shutdown()
        await asyncio.sleep(0)
        for socket in list(getattr(self, "sockets", ())):
            socket.close(protocol.CLOSE_GOING_AWAY, "Server shutting down.")
        for name in (KERNEL_URL_ENV, KERNEL_SECRET_ENV):
            os.environ.pop(name, None)


main = launch_new_instance = NebulaApp.launch_instance
