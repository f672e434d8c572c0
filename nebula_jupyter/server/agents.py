"""The agent endpoint (CONTRACT §7): ``api/nebula/agents/{id}``, one WebSocket per agent.

Authenticated by the run's own agent credential (``Authorization: Bearer …``), never by a
Jupyter identity: an agent can reach this one run's link and nothing else, and only while
the run is active. Everything after the handshake is the run's business (``remote.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

from jupyter_server.auth.decorator import allow_unauthenticated
from jupyter_server.base.handlers import JupyterHandler
from tornado import web
from tornado.websocket import WebSocketClosedError, WebSocketHandler

from .. import link
from ..protocol import CLOSE_POLICY_VIOLATION, CLOSE_UNAUTHORIZED, ProtocolError
from .auth import token_from_authorization
from .errors import ApiError
from .manager import RunManager
from .remote import AgentRefused, RemoteRun


class _AgentSocket:
    """Adapt the handler to the :class:`~.remote.AgentLink` a remote run talks to."""

    def __init__(self, handler: AgentSocketHandler) -> None:
        self._handler = handler

    def send(self, message: str) -> None:
        with contextlib.suppress(WebSocketClosedError):
            self._handler.write_message(message)

    def refuse(self, reason: str) -> None:
        self._handler.close(link.CLOSE_REFUSED, reason)


class AgentSocketHandler(WebSocketHandler, JupyterHandler):  # type: ignore[misc]
    """``api/nebula/agents/{id}``: one agent's link."""

    _run: RemoteRun | None = None
    _link: _AgentSocket | None = None
    _attached = False
    _deadline: asyncio.TimerHandle | None = None

    @property
    def max_message_size(self) -> int:
        """Output frames are at most ``link.MAX_OUTPUT_FRAME_BYTES``."""
        return link.MAX_OUTPUT_FRAME_BYTES

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """Answer refusals as JSON (CONTRACT: ``{"message": ...}``), never Jupyter's HTML page,
        which would show a caller's own token back to it."""
        self.set_header("Content-Type", "application/json")
        reason = "No active run takes this agent." if status_code == 404 else self._reason
        self.finish(json.dumps({"message": reason}))

    @allow_unauthenticated
    async def get(self, run_id: str) -> None:
        """Check the agent credential before upgrading; 404 for anything wrong."""
        manager: RunManager = self.settings["nebula_manager"]
        credential = token_from_authorization(self.request.headers.get("Authorization", ""))
        try:
            self._run = manager.agent_run(run_id, credential or "")
        except ApiError as exc:
            raise web.HTTPError(exc.status_code, exc.message) from None
        await super().get(run_id)

    def open(self, *args: Any, **kwargs: Any) -> None:
        """Wait for the agent's state message, for at most the auth timeout."""
        self.settings["nebula_sockets"].add(self)
        self._link = _AgentSocket(self)
        self._deadline = asyncio.get_running_loop().call_later(
            self.settings["nebula_auth_timeout_seconds"],
            self.close,
            CLOSE_UNAUTHORIZED,
            "No state message.",
        )

    def on_message(self, message: str | bytes) -> None:
        """Store output frames; apply state messages."""
        run, socket = self._run, self._link
        assert run is not None and socket is not None
        try:
            if isinstance(message, bytes):
                if not self._attached:
                    raise ProtocolError("Output before the state message.")
                run.receive(*link.parse_output_frame(message))
                return
            state = link.parse_agent_state(message)
            if self._attached:
                run.update(state)
                return
            if self._deadline is not None:
                self._deadline.cancel()
            run.attach(socket, state)
            self._attached = True
        except AgentRefused as exc:
            self.close(link.CLOSE_REFUSED, str(exc))
        except ProtocolError as exc:
            self.close(CLOSE_POLICY_VIOLATION, str(exc))

    def on_close(self) -> None:
        """Let the run wait for its agent to reconnect."""
        self.settings["nebula_sockets"].discard(self)
        if self._deadline is not None:
            self._deadline.cancel()
        if self._run is not None and self._link is not None and self._attached:
            self._run.detach(self._link)
