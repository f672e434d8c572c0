"""Authorization: every route asks Jupyter's Authorizer for the right action on "nebula".

Jupyter's convention (jupyter_server's ``HTTP_METHOD_TO_AUTH_ACTION`` and its kernel and
terminal sockets): reading is ``read``, changing is ``write``, and running code is ``execute``.
Starting a run executes a command, so it needs ``execute``: a read/write-only server (a shared
drive) must not be able to start processes through this extension.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError

from ..support.authorizers import DenyingAuthorizer, deny
from ..support.jupyter import CANARY_TOKEN, Api, read_all
from ..support.waiting import wait_for

ACTIONS = ("read", "write", "execute")


@pytest.fixture
def jp_server_config(nebula_config: dict[str, Any], tmp_path: Path) -> dict[str, Any]:
    """The usual test server, with the denying authorizer."""
    DenyingAuthorizer.denied = set()
    DenyingAuthorizer.asked = []
    return {
        "ServerApp": {
            "jpserver_extensions": {"nebula_jupyter": True},
            "authorizer_class": DenyingAuthorizer,
        },
        "NebulaApp": {"data_dir": str(tmp_path / "nebula-data"), **nebula_config},
    }


async def status_of(api: Api, method: str, *path: str, body: object = None) -> int:
    try:
        return int((await api.request(method, *path, body=body)).code)
    except HTTPClientError as exc:
        return int(exc.code)


ROUTES = [
    # (method, path template, body, the action it needs, success status)
    ("GET", ("runs",), None, "read", 200),
    ("POST", ("runs",), {"command": ["true"]}, "execute", 201),
    ("GET", ("runs", "{id}"), None, "read", 200),
    ("GET", ("runs", "{id}", "logs"), None, "read", 200),
    ("POST", ("runs", "{id}", "cancel"), {}, "write", 409),
    ("DELETE", ("runs", "{id}"), None, "write", 204),
]


@pytest.mark.parametrize(
    ("method", "path", "body", "action", "success"),
    ROUTES,
    ids=[f"{m} {'/'.join(p)}" for m, p, *_ in ROUTES],
)
async def test_each_route_needs_its_action(
    api: Api, method: str, path: tuple[str, ...], body: object, action: str, success: int
) -> None:
    finished = await api.create(["true"])
    await api.wait_done(finished["id"])
    target = tuple(part.format(id=finished["id"]) for part in path)
    before = len((await api.list_runs())["runs"])

    deny(action)
    assert await status_of(api, method, *target, body=body) == 403
    assert (action, "nebula") in DenyingAuthorizer.asked

    deny()
    assert len((await api.list_runs())["runs"]) == before, "a refused request changed nothing"

    deny(*(other for other in ACTIONS if other != action))
    assert await status_of(api, method, *target, body=body) == success


async def test_refused_create_starts_nothing(api: Api, tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    deny("execute")
    body = {"command": ["touch", str(marker)]}
    assert await status_of(api, "POST", "runs", body=body) == 403
    deny()
    assert (await api.list_runs())["runs"] == []
    assert not marker.exists()


async def test_stream_needs_read(api: Api) -> None:
    record = await api.create(["true"])
    await api.wait_done(record["id"])
    deny("read")
    with pytest.raises(HTTPClientError) as info:
        await api.connect(record["id"])
    assert info.value.code == 403
    deny("write", "execute")
    messages = await api.stream(record["id"])
    assert messages[-1]["type"] == "status" and messages[-1]["status"] == "succeeded"


async def test_stream_auth_message_needs_read(
    api: Api, jp_http_port: int, jp_base_url: str
) -> None:
    import tornado.websocket

    record = await api.create(["true"])
    deny("read")
    url = f"ws://localhost:{jp_http_port}{jp_base_url}api/nebula/runs/{record['id']}/stream"
    ws = await tornado.websocket.websocket_connect(url)
    await ws.write_message(json.dumps({"type": "auth", "token": CANARY_TOKEN}))
    assert await ws.read_message() is None
    assert ws.close_code == 4401


async def test_stream_cancel_needs_write(api: Api) -> None:
    record = await api.create(["sleep", "30"])
    ws = await api.connect(record["id"])
    assert json.loads(await ws.read_message())["status"] == "running"

    deny("write")
    await ws.write_message(json.dumps({"type": "cancel"}))
    error = json.loads(await ws.read_message())
    assert error == {"type": "error", "code": "forbidden", "message": error["message"]}
    assert (await api.get(record["id"]))["cancel_requested"] is False

    deny("read", "execute")  # an open socket keeps its read grant; cancel needs only write
    await ws.write_message(json.dumps({"type": "cancel"}))
    messages = await read_all(ws)
    assert messages[-1]["status"] == "cancelled"

    async def cancelled() -> bool:
        return (await api.get(record["id"]))["status"] == "cancelled"

    deny()
    await wait_for(cancelled, 10)
