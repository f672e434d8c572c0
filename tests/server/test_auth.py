"""The auth matrix: every route x credential x placement, cookies with Origin, auth messages."""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

import pytest
import tornado.httpclient
import tornado.websocket
from tornado.httpclient import HTTPRequest

from ..support.jupyter import CANARY_TOKEN, Api, output_text, read_all
from ..support.waiting import wait_for

MISSING = "no-such-run"

REST_ROUTES = [
    ("GET", "runs"),
    ("POST", "runs"),
    ("GET", f"runs/{MISSING}"),
    ("DELETE", f"runs/{MISSING}"),
    ("POST", f"runs/{MISSING}/cancel"),
    ("GET", f"runs/{MISSING}/logs"),
]
PLACEMENTS = ["header-token", "header-bearer", "query"]


class Raw:
    """Requests without pytest-jupyter's default auth header."""

    def __init__(self, port: int, base_url: str) -> None:
        self.http = f"http://localhost:{port}{base_url}api/nebula/"
        self.ws = f"ws://localhost:{port}{base_url}api/nebula/"
        self.origin = f"http://localhost:{port}"

    @staticmethod
    def place(url: str, token: str | None, placement: str) -> tuple[str, dict[str, str]]:
        if token is None:
            return url, {}
        if placement == "query":
            sep = "&" if "?" in url else "?"
            return f"{url}{sep}token={token}", {}
        scheme = "Bearer" if placement == "header-bearer" else "token"
        return url, {"Authorization": f"{scheme} {token}".rstrip() if token else ""}

    async def rest(
        self,
        method: str,
        path: str,
        token: str | None = None,
        placement: str = "query",
        headers: dict[str, str] | None = None,
        body: str | None = None,
    ) -> tornado.httpclient.HTTPResponse:
        url, auth = self.place(self.http + path, token, placement)
        if method == "POST" and body is None:
            body = json.dumps({"command": ["true"]}) if path == "runs" else ""
        request = HTTPRequest(
            url,
            method=method,
            headers={**auth, **(headers or {})},
            body=body,
            follow_redirects=False,
        )
        client = tornado.httpclient.AsyncHTTPClient()
        return await client.fetch(request, raise_error=False)

    async def ws_connect(
        self,
        run_id: str,
        token: str | None = None,
        placement: str = "query",
        headers: dict[str, str] | None = None,
        query: str = "",
    ) -> tornado.websocket.WebSocketClientConnection:
        url, auth = self.place(f"{self.ws}runs/{run_id}/stream{query}", token, placement)
        request = HTTPRequest(url, headers={**auth, **(headers or {})})
        return await tornado.websocket.websocket_connect(request)


@pytest.fixture
def raw(jp_serverapp: Any, http_server_client: Any, jp_http_port: int, jp_base_url: str) -> Raw:
    return Raw(jp_http_port, jp_base_url)


def valid_tokens(jp_serverapp: Any) -> dict[str, str]:
    settings = jp_serverapp.web_app.settings
    return {
        "server": jp_serverapp.identity_provider.token,
        "extension": CANARY_TOKEN,
        "kernel": settings["nebula_credentials"].kernel_secret,
    }


@pytest.mark.parametrize(("method", "path"), REST_ROUTES)
@pytest.mark.parametrize("placement", PLACEMENTS)
async def test_rest_matrix(
    raw: Raw, jp_serverapp: Any, method: str, path: str, placement: str
) -> None:
    # No credentials at all.
    response = await raw.rest(method, path)
    assert response.code in (401, 403), response.code
    for bad in ("wrong-token", ""):
        response = await raw.rest(method, path, bad, placement)
        assert response.code in (401, 403), (bad, response.code)
        assert b"Traceback" not in response.body
    for kind, token in valid_tokens(jp_serverapp).items():
        response = await raw.rest(method, path, token, placement)
        # Auth comes before existence: a missing run is a 404 only once authenticated.
        expected = {"GET runs": 200, "POST runs": 201}.get(f"{method} {path}", 404)
        assert response.code == expected, (kind, response.code, response.body)
        assert token.encode() not in response.body


@pytest.mark.parametrize("placement", PLACEMENTS)
async def test_ws_matrix(raw: Raw, api: Api, jp_serverapp: Any, placement: str) -> None:
    record = await api.create(["echo", "hello"])
    await api.wait_done(record["id"])
    for bad in ("wrong-token", ""):
        with pytest.raises(tornado.httpclient.HTTPClientError) as info:
            await raw.ws_connect(record["id"], bad, placement)
        assert info.value.code == 403
        # Authentication is checked before run existence.
        with pytest.raises(tornado.httpclient.HTTPClientError) as info:
            await raw.ws_connect(MISSING, bad, placement)
        assert info.value.code == 403
    for kind, token in valid_tokens(jp_serverapp).items():
        ws = await raw.ws_connect(record["id"], token, placement)
        messages = await read_all(ws)
        assert output_text(messages) == "hello\n", kind
        with pytest.raises(tornado.httpclient.HTTPClientError) as info:
            await raw.ws_connect(MISSING, token, placement)
        assert info.value.code == 404


async def test_auth_message_flow(raw: Raw, api: Api, jp_serverapp: Any) -> None:
    record = await api.create(["echo", "hello"])
    await api.wait_done(record["id"])
    for token in valid_tokens(jp_serverapp).values():
        ws = await raw.ws_connect(record["id"])
        ws.write_message(json.dumps({"type": "auth", "token": token}))
        messages = await read_all(ws)
        assert output_text(messages) == "hello\n"
        assert ws.close_code == 1000


@pytest.mark.parametrize(
    "first",
    [
        {"type": "auth", "token": "nope"},
        {"type": "auth", "token": ""},
        {"type": "cancel"},
        "not json",
    ],
)
async def test_auth_message_rejected(raw: Raw, api: Api, first: Any) -> None:
    record = await api.create(["echo", "secret output"])
    await api.wait_done(record["id"])
    ws = await raw.ws_connect(record["id"])
    ws.write_message(first if isinstance(first, str) else json.dumps(first))
    messages = await read_all(ws)
    assert messages == []  # nothing about the run leaks before authentication
    assert ws.close_code == 4401


async def test_auth_message_silence_times_out(raw: Raw, api: Api) -> None:
    record = await api.create(["true"])
    ws = await raw.ws_connect(record["id"])
    assert await read_all(ws) == []
    assert ws.close_code == 4401


async def test_auth_message_unknown_run_is_4404(raw: Raw) -> None:
    ws = await raw.ws_connect(MISSING)
    ws.write_message(json.dumps({"type": "auth", "token": CANARY_TOKEN}))
    assert await read_all(ws) == []
    assert ws.close_code == 4404


async def login_cookie(raw: Raw, jp_serverapp: Any) -> str:
    token = jp_serverapp.identity_provider.token
    response = await raw.rest("GET", "runs", token, "query")
    cookies = response.headers.get_list("Set-Cookie")
    login = [c.split(";")[0] for c in cookies if c.startswith("username-")]
    assert login, cookies
    return login[0]


async def test_cookie_with_same_and_foreign_origin(raw: Raw, api: Api, jp_serverapp: Any) -> None:
    record = await api.create(["echo", "hi"])
    await api.wait_done(record["id"])
    cookie = await login_cookie(raw, jp_serverapp)
    response = await raw.rest("GET", "runs", headers={"Cookie": cookie})
    assert response.code == 200
    # A cookie alone cannot POST without the XSRF check (Jupyter's own rule).
    response = await raw.rest("POST", "runs", headers={"Cookie": cookie})
    assert response.code == 403
    ws = await raw.ws_connect(record["id"], headers={"Cookie": cookie, "Origin": raw.origin})
    assert output_text(await read_all(ws)) == "hi\n"
    with pytest.raises(tornado.httpclient.HTTPClientError) as info:
        await raw.ws_connect(
            record["id"], headers={"Cookie": cookie, "Origin": "http://evil.example"}
        )
    assert info.value.code == 403


async def test_extension_token_can_post_without_xsrf(raw: Raw) -> None:
    response = await raw.rest("POST", "runs", CANARY_TOKEN, "header-token")
    assert response.code == 201


@pytest.mark.parametrize("run_id", ["..", "..%2F..%2Fetc%2Fpasswd", "a" * 65, "a%00b", "%2e%2e"])
async def test_path_traversal_ids(raw: Raw, jp_serverapp: Any, run_id: str) -> None:
    token = jp_serverapp.identity_provider.token
    for method, suffix in (("GET", ""), ("GET", "/logs"), ("DELETE", ""), ("POST", "/cancel")):
        response = await raw.rest(method, f"runs/{run_id}{suffix}", token, "header-token")
        assert response.code in (400, 404), (run_id, suffix, response.code)


async def test_no_secret_reaches_logs_bodies_or_children(
    raw: Raw, api: Api, jp_serverapp: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    secrets = valid_tokens(jp_serverapp)
    code = "import os, json; print(json.dumps(dict(os.environ)))"
    response = await raw.rest(
        "POST",
        "runs",
        CANARY_TOKEN,
        "query",
        body=json.dumps({"command": [sys.executable, "-c", code]}),
    )
    assert response.code == 201
    run_id = json.loads(response.body)["id"]
    ws = await raw.ws_connect(run_id, CANARY_TOKEN, "query")
    messages = await read_all(ws)
    env_text = output_text(messages)
    env = json.loads(env_text)
    assert "PYTHONUNBUFFERED" in env
    for name, secret in secrets.items():
        assert secret not in env_text, name
    for bad in ("wrong-token", CANARY_TOKEN + "x"):
        await raw.rest("GET", f"runs/{run_id}", bad, "query")
        with pytest.raises(tornado.httpclient.HTTPClientError):
            await raw.ws_connect(run_id, bad, "query")
    with pytest.raises(tornado.httpclient.HTTPClientError):  # a logged 400 with the token
        await raw.ws_connect(run_id, CANARY_TOKEN, "query", query="?after=-1")
    await raw.rest("GET", "runs?status=bogus", CANARY_TOKEN, "query")
    record = await raw.rest("GET", f"runs/{run_id}", CANARY_TOKEN, "query")
    await wait_for(lambda: caplog.records, 1)
    text = "\n".join(r.getMessage() + (r.exc_text or "") for r in caplog.records)
    assert "api/nebula/runs" in text  # the log is there, just scrubbed
    for name, secret in secrets.items():
        assert secret not in text, name
        assert secret.encode() not in record.body
