"""A real kernel started by the server uses ``nebula_jupyter`` with no configuration."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import textwrap
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from ..support.jupyter import child

if TYPE_CHECKING:
    from ..support.client_fixtures import Server


KERNEL_CODE = """
import hashlib, importlib, json, os, sys
import nebula_jupyter as nj

r = nj.run({lines_command})
r.wait(60)
bad = nj.run("echo nope >&2; exit 3").wait(60)
env_run = nj.run(["env"]).wait(60)
where = nj.run(["python", "-c", "import os, sys; print(os.getcwd()); print(sys.prefix)"]).wait(60)
client = importlib.import_module("nebula_jupyter.api")._client()
secret = os.environ.get("NEBULA_KERNEL_SECRET", "")
print("RESULT " + json.dumps({{
    "exit_code": r.exit_code,
    "status": r.status,
    "logs": r.logs(),
    "bad": [bad.status, bad.exit_code, bad.logs("stderr")],
    "source": client.address.source,
    "secret_sha": hashlib.sha256(secret.encode()).hexdigest(),
    "child_env": env_run.logs(),
    "repr": repr(r),
    "where": where.logs("stdout").splitlines(),
    "kernel_where": [os.getcwd(), sys.prefix],
}}))
"""


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def message(session: str, code: str) -> dict[str, Any]:
    """Build an execute_request in the kernel WebSocket's JSON form."""
    return {
        "header": {
            "msg_id": uuid.uuid4().hex,
            "msg_type": "execute_request",
            "session": session,
            "username": "test",
            "version": "5.3",
            "date": datetime.now(UTC).isoformat(),
        },
        "parent_header": {},
        "metadata": {},
        "content": {
            "code": code,
            "silent": False,
            "store_history": False,
            "user_expressions": {},
            "allow_stdin": False,
            "stop_on_error": True,
        },
        "channel": "shell",
        "buffers": [],
    }


async def execute(ws: Any, code: str, timeout: float = 120) -> str:
    """Run ``code`` in the kernel and return its stdout; fail on an error reply."""
    request = message(uuid.uuid4().hex, code)
    msg_id = request["header"]["msg_id"]
    await ws.write_message(json.dumps(request))
    stdout: list[str] = []
    replied = idle = False
    while not (replied and idle):
        raw = await asyncio.wait_for(ws.read_message(), timeout)
        assert raw is not None, "the kernel socket closed"
        reply = json.loads(raw)
        if reply.get("parent_header", {}).get("msg_id") != msg_id:
            continue
        kind, content = reply["msg_type"], reply["content"]
        if kind == "stream" and content["name"] == "stdout":
            stdout.append(content["text"])
        elif kind == "error":
            raise AssertionError("\n".join(content["traceback"]))
        elif kind == "execute_reply":
            assert content["status"] == "ok", content
            replied = True
        elif kind == "status" and content["execution_state"] == "idle":
            idle = True
    return "".join(stdout)


@pytest.fixture
def kernel_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Start kernels with nothing configured: no NEBULA_URL/NEBULA_TOKEN to lean on."""
    from ..support.client_fixtures import REPO_ROOT

    monkeypatch.delenv("NEBULA_URL", raising=False)
    monkeypatch.delenv("NEBULA_TOKEN", raising=False)
    # This checkout is not installed into the environment; the kernel must still import it.
    pythonpath = os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))
    monkeypatch.setenv("PYTHONPATH", pythonpath)


async def test_kernel_runs_with_no_configuration(
    kernel_env: None, server: Server, jp_fetch: Any, jp_ws_fetch: Any, jp_root_dir: Path
) -> None:
    # The notebook sits in a subfolder: its kernel starts there, and so do its runs.
    (jp_root_dir / "work" / "nb").mkdir(parents=True)
    body = {
        "path": "work/nb/nb.ipynb",
        "type": "notebook",
        "name": "nb",
        "kernel": {"name": "python3"},
    }
    response = await jp_fetch("api", "sessions", method="POST", body=json.dumps(body))
    session = json.loads(response.body)
    kernel_id = session["kernel"]["id"]
    ws = await jp_ws_fetch("api", "kernels", kernel_id, "channels")
    try:
        code = KERNEL_CODE.format(lines_command=repr(child("lines", 12)))
        out = await execute(ws, textwrap.dedent(code))
    finally:
        ws.close()
        await jp_fetch("api", "sessions", session["id"], method="DELETE")
    line = next(line for line in out.splitlines() if line.startswith("RESULT "))
    result = json.loads(line.removeprefix("RESULT "))

    assert result["source"] == "kernel"
    assert result["status"] == "succeeded" and result["exit_code"] == 0
    stdout_lines = [x for x in result["logs"].splitlines() if x.startswith("line")]
    assert stdout_lines == [f"line {i}" for i in range(1, 13)] and "err 10" in result["logs"]
    assert result["bad"] == ["failed", 3, "nope\n"]
    assert "status='succeeded'" in result["repr"] and "exit_code=0" in result["repr"]
    # nj.run starts where the notebook is, with the kernel's own Python.
    assert result["kernel_where"][0] == str((jp_root_dir / "work" / "nb").resolve())
    assert result["where"] == result["kernel_where"]

    # The kernel got the extension's own secret, not the server's token ...
    assert result["secret_sha"] != sha("")
    assert result["secret_sha"] != sha(server.token)
    assert result["secret_sha"] == sha(os.environ["NEBULA_KERNEL_SECRET"])
    # ... and neither credential reaches a run's children.
    child_env = result["child_env"]
    assert "PYTHONUNBUFFERED=1" in child_env  # the env dump really is the child's
    for secret in (os.environ["NEBULA_KERNEL_SECRET"], server.token):
        assert secret not in child_env
    assert "NEBULA_KERNEL_SECRET" not in child_env
