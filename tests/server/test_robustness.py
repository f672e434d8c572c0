"""What real machines do: odd text, odd digits, damaged records, deletes mid-stream, echoes.

Each test names the kind of fault it covers (CONTRACT §2, §3 v2) and tries several inputs of
that kind, not just the one that was reported.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
import tornado.httpclient
from tornado.httpclient import HTTPClientError, HTTPRequest

from ..support.jupyter import Api, child
from ..support.waiting import wait_for

# -- invalid text is refused before anything is stored --------------------------------------

LONE_SURROGATES = ["train \ud83d", "\udcff", "a\ude00b"]


def _bodies_with(text: str) -> list[tuple[str, dict[str, Any]]]:
    return [
        ("name", {"command": ["echo", "ok"], "name": text}),
        ("command", {"command": ["echo", text]}),
        ("command", {"command": f"echo {text}"}),
        ("cwd", {"command": ["echo", "ok"], "cwd": text}),
        ("env", {"command": ["echo", "ok"], "env": {"K": text}}),
        ("env", {"command": ["echo", "ok"], "env": {text: "v"}}),
    ]


@pytest.mark.parametrize("text", LONE_SURROGATES)
async def test_invalid_unicode_is_400_naming_the_field_and_stores_nothing(
    api: Api, text: str
) -> None:
    for field, body in _bodies_with(text):
        # json.dumps writes a lone surrogate as the escape "\ud83d", as a JS client would.
        with pytest.raises(HTTPClientError) as info:
            await api.request("POST", "runs", body=json.dumps(body))
        assert info.value.code == 400, field
        message = json.loads(info.value.response.body)["message"]
        assert f"'{field}'" in message
    assert (await api.list_runs())["runs"] == []


@pytest.fixture
def damaged_data_dir(tmp_path: Path) -> Path:
    """A data dir whose database holds one good and three damaged records."""
    data_dir = tmp_path / "nebula-data"
    data_dir.mkdir()
    db = sqlite3.connect(data_dir / "runs.sqlite3")
    db.execute(
        "CREATE TABLE runs (position INTEGER PRIMARY KEY AUTOINCREMENT,"
        " id TEXT UNIQUE NOT NULL, record TEXT NOT NULL)"
    )
    good = {"id": "good1", "command": ["true"], "status": "succeeded", "reason": "exited"}
    rows = [
        ("bad1", "{not json"),
        ("bad2", json.dumps({"id": "bad2", "command": ["x"], "status": "paused"})),
        ("bad3", json.dumps({"id": "bad3", "status": "queued"})),  # no command
        ("good1", json.dumps(good)),
    ]
    db.executemany("INSERT INTO runs (id, record) VALUES (?, ?)", rows)
    db.commit()
    db.close()
    return data_dir


@pytest.fixture
def jp_server_config(
    request: pytest.FixtureRequest, nebula_config: dict[str, Any], tmp_path: Path
) -> dict[str, Any]:
    """The usual test server; tests that ask for ``damaged_data_dir`` start on it."""
    if "damaged_data_dir" in request.fixturenames:
        request.getfixturevalue("damaged_data_dir")
    return {
        "ServerApp": {"jpserver_extensions": {"nebula_jupyter": True}},
        "NebulaApp": {"data_dir": str(tmp_path / "nebula-data"), **nebula_config},
    }


async def test_damaged_records_are_skipped_at_start_up(api: Api, damaged_data_dir: Path) -> None:
    runs = (await api.list_runs())["runs"]
    assert [run["id"] for run in runs] == ["good1"]
    record = await api.create(["echo", "still works"])
    assert (await api.wait_done(record["id"]))["status"] == "succeeded"


# -- integers in queries are ASCII digits only -----------------------------------------------

NOT_DIGITS = ["²", "٣", "\uff13", "+1", "-1", " 1", "1 ", "1e3", "0x1", "", "1.0", "1" * 19]


@pytest.mark.parametrize("name", ["after", "tail", "window"])
@pytest.mark.parametrize("value", NOT_DIGITS)
async def test_query_integers_are_ascii_digits(api: Api, name: str, value: str) -> None:
    record = await api.create(["true"])
    await api.wait_done(record["id"])
    with pytest.raises(HTTPClientError) as info:
        await api.connect(record["id"], **{name: value})
    assert info.value.code == 400
    assert value.strip() == "" or value.strip() not in info.value.response.body.decode()


# -- a streaming response commits its headers at once ----------------------------------------


async def test_logs_follow_sends_headers_before_any_output(
    api: Api, jp_http_port: int, jp_base_url: str, jp_auth_header: dict[str, str]
) -> None:
    record = await api.create(["sh", "-c", "echo only stdout; sleep 30"])
    url = (
        f"http://127.0.0.1:{jp_http_port}{jp_base_url}api/nebula/runs/{record['id']}/logs"
        "?stream=stderr&follow=1"
    )
    headers: list[str] = []
    request = HTTPRequest(
        url,
        headers=jp_auth_header,
        header_callback=headers.append,
        streaming_callback=lambda chunk: None,
        request_timeout=60,
    )
    fetch = asyncio.ensure_future(tornado.httpclient.AsyncHTTPClient().fetch(request))
    try:
        # Nothing is ever written to stderr: only the headers can arrive while it runs.
        await wait_for(lambda: any(line.startswith("HTTP/1.1 200") for line in headers), 10)
        assert (await api.get(record["id"]))["status"] == "running"
    finally:
        await api.request("POST", "runs", record["id"], "cancel", body={})
        await fetch
    assert (await api.get(record["id"]))["status"] == "cancelled"


# -- a deleted run never looks complete --------------------------------------------------------


@pytest.mark.parametrize("acking", [True, False], ids=["acking", "stalled-in-window"])
async def test_deleting_a_run_mid_replay_is_4404_not_a_terminal_status(
    api: Api, acking: bool
) -> None:
    record = await api.create(child("flood", 4_900_000))
    await api.wait_done(record["id"])
    ws = await api.connect(record["id"], window=65536)
    seen = []
    # Without acks the server stops after one window's worth: one message.
    for _ in range(3 if acking else 1):
        message = json.loads(await ws.read_message())
        seen.append(message)
        if acking and "seq" in message:
            await ws.write_message(json.dumps({"type": "ack", "seq": message["seq"]}))
    response = await api.request("DELETE", "runs", record["id"])
    assert response.code == 204
    rest = []
    while (raw := await ws.read_message()) is not None:
        message = json.loads(raw)
        rest.append(message)
        if acking and "seq" in message:
            await ws.write_message(json.dumps({"type": "ack", "seq": message["seq"]}))
    messages = seen + rest
    received = sum(len(m["data"]) for m in messages if m["type"] == "stdout")
    if messages[-1]["type"] == "status":
        # Allowed only for a complete stream (CONTRACT §3 v2).
        assert received == 4_900_000
    else:
        assert ws.close_code == 4404
        assert all(m["type"] != "status" for m in messages)


# -- error bodies never echo a malformed input -----------------------------------------------

HOSTILE = "<script>alert(1)</script>"


async def test_error_bodies_do_not_echo_malformed_input(
    api: Api, jp_http_port: int, jp_base_url: str, jp_auth_header: dict[str, str]
) -> None:
    base = f"http://127.0.0.1:{jp_http_port}{jp_base_url}api/nebula/"
    hostile_id = "%3Cscript%3Ealert(1)%3C%2Fscript%3E"
    client = tornado.httpclient.AsyncHTTPClient()
    requests = [
        HTTPRequest(f"{base}runs/{hostile_id}", headers=jp_auth_header),
        HTTPRequest(f"{base}runs/{hostile_id}/logs", headers=jp_auth_header),
        HTTPRequest(f"{base}runs/{hostile_id}/cancel", "POST", jp_auth_header, body=b""),
        HTTPRequest(f"{base}runs/{hostile_id}", "DELETE", jp_auth_header),
        HTTPRequest(f"{base}runs?status=%3Cscript%3E", headers=jp_auth_header),
        HTTPRequest(
            f"{base}runs", "POST", jp_auth_header, body=json.dumps({HOSTILE: 1, "command": "x"})
        ),
        HTTPRequest(f"{base}runs/{hostile_id}/stream", headers=jp_auth_header),
    ]
    for request in requests:
        response = await client.fetch(request, raise_error=False)
        assert response.code in (400, 404), (request.method, request.url)
        body = response.body.decode()
        assert "script" not in body.lower(), (request.method, request.url, body)
        assert "message" in json.loads(body)
