"""Helpers for tests against a real Jupyter server with the extension: REST/WS calls, children."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
import tornado.websocket

from .waiting import wait_for

CHILDREN = Path(__file__).parent / "children"

#: Run a contract test twice: with local runs, and with runs on a real Dask cluster (the
#: server's default executor becomes "dask"; CONTRACT §7: a remote run keeps every guarantee).
both_executors = pytest.mark.parametrize("run_executor", ["local", "dask"], indirect=True)
CANARY_TOKEN = "canary-5c1e7f0d-nebula-extension-token"
TERMINAL = ("succeeded", "failed", "cancelled")


def child(name: str, *args: object) -> list[str]:
    """Return the argv that runs ``tests/support/children/<name>.py`` with this Python."""
    return [sys.executable, str(CHILDREN / f"{name}.py"), *map(str, args)]


class Api:
    """Thin JSON helpers over ``jp_fetch`` for the REST endpoints."""

    def __init__(self, fetch: Any, ws_fetch: Any) -> None:
        self.fetch = fetch
        self.ws_fetch = ws_fetch

    async def request(self, method: str, *path: str, body: object = None, **kwargs: Any) -> Any:
        """Send a request and return the response (raises on 4xx/5xx like ``jp_fetch``)."""
        if body is not None and not isinstance(body, (str, bytes)):
            body = json.dumps(body)
        if method == "POST" and body is None:
            body = b""
        return await self.fetch("api", "nebula", *path, method=method, body=body, **kwargs)

    async def create(self, command: list[str] | str, **fields: Any) -> dict[str, Any]:
        """Create a run and return its record."""
        response = await self.request("POST", "runs", body={"command": command, **fields})
        assert response.code == 201, response.code
        return json.loads(response.body)

    async def get(self, run_id: str) -> dict[str, Any]:
        """Return a run's record."""
        return json.loads((await self.request("GET", "runs", run_id)).body)

    async def list_runs(self, **params: str) -> dict[str, Any]:
        """Return the body of ``GET api/nebula/runs``."""
        return json.loads((await self.request("GET", "runs", params=params)).body)

    async def logs(self, run_id: str, **params: str) -> bytes:
        """Return a run's raw logs."""
        response = await self.request("GET", "runs", run_id, "logs", params=params)
        return bytes(response.body)

    async def wait_output(self, run_id: str, text: bytes, timeout: float = 10.0) -> bytes:
        """Wait until a run's logs contain ``text`` and return them."""

        async def seen() -> bytes | None:
            logs = await self.logs(run_id)
            return logs if text in logs else None

        return await wait_for(seen, timeout)

    async def wait_done(self, run_id: str, timeout: float = 20.0) -> dict[str, Any]:
        """Wait until a run is terminal and return its record."""

        async def terminal() -> dict[str, Any] | None:
            record = await self.get(run_id)
            return record if record["status"] in TERMINAL else None

        return await wait_for(terminal, timeout)

    async def connect(
        self, run_id: str, **params: Any
    ) -> tornado.websocket.WebSocketClientConnection:
        """Open the run's stream WebSocket with the server token."""
        return await self.ws_fetch(
            "api", "nebula", "runs", run_id, "stream", params={k: str(v) for k, v in params.items()}
        )

    async def stream(self, run_id: str, **params: Any) -> list[dict[str, Any]]:
        """Collect every message of the stream until the server closes it."""
        ws = await self.connect(run_id, **params)
        return await read_all(ws)


async def read_all(ws: tornado.websocket.WebSocketClientConnection) -> list[dict[str, Any]]:
    """Read JSON messages until the socket closes."""
    messages = []
    while (raw := await ws.read_message()) is not None:
        messages.append(json.loads(raw))
    return messages


def output_text(messages: list[dict[str, Any]], stream: str | None = None) -> str:
    """Concatenate the data of output messages (optionally of one stream)."""
    kinds = (stream,) if stream else ("stdout", "stderr")
    return "".join(m["data"] for m in messages if m["type"] in kinds)
