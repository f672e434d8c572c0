"""Contract tests for the REST API (CONTRACT §2) through a real Jupyter server."""

from __future__ import annotations

import json
import sys
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError

from ..support.jupyter import Api, both_executors, child
from ..support.waiting import wait_for


async def expect_error(api: Api, code: int, method: str, *path: str, **kwargs: Any) -> dict:
    with pytest.raises(HTTPClientError) as info:
        await api.request(method, *path, **kwargs)
    assert info.value.code == code
    body = json.loads(info.value.response.body)
    assert isinstance(body["message"], str) and body["message"]
    assert "Traceback" not in body["message"]
    return body


@both_executors
async def test_create_runs_and_records_success(
    api: Api, jp_base_url: str, run_executor: str
) -> None:
    response = await api.request("POST", "runs", body={"command": child("lines", 3), "name": "n"})
    assert response.code == 201
    record = json.loads(response.body)
    assert response.headers["Location"] == f"{jp_base_url}api/nebula/runs/{record['id']}"
    assert record["name"] == "n" and record["cwd"] == ""
    # Nothing else is queued: it starts at once (a quick child may even have ended already).
    # A remote run is queued until its engine has started it on a worker (CONTRACT §7).
    started = ("running", "succeeded")
    assert record["status"] in (("queued", *started) if run_executor == "dask" else started)
    done = await api.wait_done(record["id"])
    assert done["status"] == "succeeded"
    assert done["exit_code"] == 0 and done["signal"] is None and done["reason"] == "exited"
    assert done["stdout_bytes"] == len(b"line 1\nline 2\nline 3\n")
    assert done["last_seq"] >= 1
    assert done["started_at"] and done["finished_at"]
    assert await api.logs(record["id"], stream="stdout") == b"line 1\nline 2\nline 3\n"


@both_executors
async def test_shell_string_and_failure(api: Api) -> None:
    record = await api.create("echo hi; echo oops >&2; exit 3")
    done = await api.wait_done(record["id"])
    assert done["status"] == "failed" and done["exit_code"] == 3 and done["reason"] == "exited"
    assert await api.logs(record["id"], stream="stdout") == b"hi\n"
    assert await api.logs(record["id"], stream="stderr") == b"oops\n"


@both_executors
async def test_killed_by_own_signal_is_failed_signalled(api: Api) -> None:
    record = await api.create("kill -9 $$")
    done = await api.wait_done(record["id"])
    assert done["status"] == "failed"
    assert done["exit_code"] is None and done["signal"] == "SIGKILL"
    assert done["reason"] == "signalled"


@both_executors
async def test_spawn_error_is_failed(api: Api) -> None:
    record = await api.create(["/no/such/binary-nebula"])
    done = await api.wait_done(record["id"])
    assert done["status"] == "failed" and done["reason"] == "spawn_error"
    assert "no/such/binary-nebula" in done["error"]


@both_executors
async def test_a_run_that_never_started_never_says_running(api: Api, run_executor: str) -> None:
    record = await api.create(["/no/such/binary-nebula"], cwd="")
    if run_executor == "local":
        # The create answer already knows: the spawn is awaited for a run that gets a slot.
        assert (record["status"], record["started_at"]) == ("failed", None)
    else:
        # A remote spawn happens on a worker, later: queued, then failed.
        assert record["status"] == "queued"
        record = await api.wait_done(record["id"])
        assert (record["status"], record["started_at"]) == ("failed", None)
    messages = await api.stream(record["id"])
    assert [m["status"] for m in messages if m["type"] == "status"] == ["failed"]


async def test_env_cwd_and_defaults(api: Api, jp_root_dir: Any) -> None:
    (jp_root_dir / "sub").mkdir()
    code = "import os; print(os.getcwd()); print(os.environ['FOO'], os.environ['PYTHONUNBUFFERED'])"
    record = await api.create([sys.executable, "-c", code], cwd="sub", env={"FOO": "bar"})
    assert record["cwd"] == "sub"
    await api.wait_done(record["id"])
    out = (await api.logs(record["id"])).decode().splitlines()
    assert out == [str((jp_root_dir / "sub").resolve()), "bar 1"]


@pytest.mark.parametrize(
    "body",
    [
        "not json",
        "[]",
        json.dumps({}),
        json.dumps({"command": []}),
        json.dumps({"command": ""}),
        json.dumps({"command": [1, 2]}),
        json.dumps({"command": "true", "extra": 1}),
        json.dumps({"command": "true", "cwd": 5}),
        json.dumps({"command": "true", "env": {"A": 1}}),
        json.dumps({"command": "true", "env": []}),
        json.dumps({"command": "true", "name": 3}),
        json.dumps({"command": "true", "cwd": "../.."}),
        json.dumps({"command": "true", "cwd": "does-not-exist"}),
        json.dumps({"command": "true", "executor": 1}),
        json.dumps({"command": "true", "executor": "no-such-executor"}),
        json.dumps({"command": "true", "executor": "dask"}),  # not configured here
        json.dumps({"command": "true", "resources": {"GPU": 1}}),  # local runs take none
        json.dumps({"command": "true", "executor": "dask", "resources": {"GPU": "1"}}),
        json.dumps({"command": "true", "executor": "dask", "resources": {"GPU": -1}}),
        json.dumps({"command": "true", "executor": "dask", "resources": {"GPU": True}}),
        json.dumps({"command": "true", "executor": "dask", "resources": [1]}),
    ],
)
async def test_bad_create_bodies_are_400_and_start_nothing(api: Api, body: str) -> None:
    before = json.loads((await api.request("GET", "runs")).body)["runs"]
    await expect_error(api, 400, "POST", "runs", body=body)
    after = json.loads((await api.request("GET", "runs")).body)["runs"]
    assert after == before


async def test_executor_refusals_say_what_to_do_and_never_echo(api: Api) -> None:
    # CONTRACT §7: an unconfigured dask executor is a 400 that says how to configure it.
    body = await expect_error(
        api, 400, "POST", "runs", body={"command": "true", "executor": "dask"}
    )
    assert "c.DaskExecutor.scheduler_address" in body["message"]
    body = await expect_error(
        api, 400, "POST", "runs", body={"command": "true", "executor": "<script>x"}
    )
    assert "<script>" not in body["message"] and "local" in body["message"]
    body = await expect_error(
        api, 400, "POST", "runs", body={"command": "true", "resources": {"GPU": 1}}
    )
    assert "resources" in body["message"]


async def test_list_newest_first_and_filter(api: Api) -> None:
    first = await api.create(["true"])
    await api.wait_done(first["id"])
    second = await api.create(child("ignore_term"))
    await wait_for(lambda: api.get(second["id"]), 5)
    runs = json.loads((await api.request("GET", "runs")).body)["runs"]
    assert [r["id"] for r in runs][:2] == [second["id"], first["id"]]
    await wait_for(lambda: _status_is(api, second["id"], "running"), 10)
    running = json.loads((await api.request("GET", "runs", params={"status": "running"})).body)
    assert [r["id"] for r in running["runs"]] == [second["id"]]
    await expect_error(api, 400, "GET", "runs", params={"status": "bogus"})
    await api.request("POST", "runs", second["id"], "cancel")
    await api.wait_done(second["id"])


async def _status_is(api: Api, run_id: str, status: str) -> bool:
    return (await api.get(run_id))["status"] == status


async def test_get_unknown_and_malformed_ids(api: Api) -> None:
    await expect_error(api, 404, "GET", "runs", "nope")
    with pytest.raises(HTTPClientError) as info:
        await api.request("GET", "runs", "..%2F..%2Fetc")
    assert info.value.code in (400, 404)


@both_executors
async def test_cancel_then_conflict_and_delete(api: Api) -> None:
    record = await api.create(child("ignore_term"))
    await api.wait_output(record["id"], b"ignoring SIGTERM")
    await expect_error(api, 409, "DELETE", "runs", record["id"])
    response = await api.request("POST", "runs", record["id"], "cancel")
    assert response.code == 202
    assert json.loads(response.body)["cancel_requested"] is True
    again = await api.request("POST", "runs", record["id"], "cancel")
    assert again.code == 202
    done = await api.wait_done(record["id"])
    assert done["status"] == "cancelled" and done["reason"] == "cancelled"
    assert done["signal"] == "SIGKILL"  # it ignored SIGTERM
    body = await expect_error(api, 409, "POST", "runs", record["id"], "cancel")
    assert body["run"]["status"] == "cancelled"
    response = await api.request("DELETE", "runs", record["id"])
    assert response.code == 204
    await expect_error(api, 404, "GET", "runs", record["id"])
    await expect_error(api, 404, "GET", "runs", record["id"], "logs")


@both_executors
async def test_logs_follow_streams_until_the_end(api: Api) -> None:
    record = await api.create(child("lines", 200, 0.002))
    chunks: list[bytes] = []
    response = await api.request(
        "GET",
        "runs",
        record["id"],
        "logs",
        params={"follow": "1", "stream": "stdout"},
        streaming_callback=chunks.append,
        request_timeout=30,
    )
    assert response.code == 200
    assert b"".join(chunks) == b"".join(f"line {i}\n".encode() for i in range(1, 201))
    assert (await api.get(record["id"]))["status"] == "succeeded"
    both = await api.logs(record["id"])
    assert both.count(b"\n") == 200 + 20  # stdout lines plus every tenth on stderr
    assert response.headers["Content-Type"] == "application/octet-stream"


async def test_logs_rejects_unknown_stream(api: Api) -> None:
    record = await api.create(["true"])
    await expect_error(api, 400, "GET", "runs", record["id"], "logs", params={"stream": "both"})


async def test_active_runs_mark_server_activity(api: Api, jp_serverapp: Any) -> None:
    settings = jp_serverapp.web_app.settings
    settings.pop("nebula_last_activity", None)
    record = await api.create(child("ignore_term"))
    extension = next(iter(jp_serverapp.extension_manager.extension_apps["nebula_jupyter"]))
    extension._mark_activity()
    assert "nebula_last_activity" in settings
    assert jp_serverapp.web_app.last_activity() >= settings["nebula_last_activity"]
    await api.request("POST", "runs", record["id"], "cancel")
    await api.wait_done(record["id"])
