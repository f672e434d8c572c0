"""The Python clients (blocking and asyncio) against a real server with real processes."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import socket
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from nebula_jupyter.client import (
    AsyncNebulaClient,
    BadRequest,
    Conflict,
    NebulaClient,
    NotFound,
    OutputMessage,
    QueueFull,
    RequestTimeout,
    ServerUnavailable,
    StatusMessage,
    Unauthorized,
)
from nebula_jupyter.client.address import ServerAddress
from nebula_jupyter.client.follow import FollowSession

from ..support.jupyter import CANARY_TOKEN, child
from ..support.waiting import wait_for

if TYPE_CHECKING:
    from ..support.client_fixtures import CuttingProxy, Server

# Imported by pytest only (not above), so that its asserts are rewritten too.

TERMINAL = ("succeeded", "failed", "cancelled")


def numbered(count: int) -> list[str]:
    return [f"line {i}" for i in range(1, count + 1)]


def collect(events: list[Any]) -> tuple[list[OutputMessage], list[StatusMessage]]:
    outputs = [e for e in events if isinstance(e, OutputMessage)]
    statuses = [e for e in events if isinstance(e, StatusMessage)]
    return outputs, statuses


def assert_each_line_once(outputs: list[OutputMessage], count: int) -> None:
    seqs = [e.seq for e in outputs]
    assert seqs == sorted(set(seqs)), "seq repeated or out of order"
    stdout = "".join(e.data for e in outputs if e.stream == "stdout")
    assert stdout.splitlines() == numbered(count)
    stderr = "".join(e.data for e in outputs if e.stream == "stderr")
    assert stderr.splitlines() == [f"err {i}" for i in range(10, count + 1, 10)]


# -- REST calls ---------------------------------------------------------------------------


async def test_create_get_list_logs_delete(client: NebulaClient) -> None:
    first = await asyncio.to_thread(client.create, child("lines", 12), name="first")
    assert first["name"] == "first" and first["status"] in ("queued", "running")
    second = await asyncio.to_thread(client.create, "echo out; echo err >&2; exit 3")

    done = await asyncio.to_thread(client.wait, first["id"], 20)
    assert done["status"] == "succeeded" and done["exit_code"] == 0
    failed = await asyncio.to_thread(client.wait, second["id"], 20)
    assert failed["status"] == "failed" and failed["exit_code"] == 3

    fetched = await asyncio.to_thread(client.get, first["id"])
    assert fetched["id"] == first["id"] and fetched["status"] == "succeeded"
    listed = await asyncio.to_thread(client.list)
    assert [r["id"] for r in listed][:2] == [second["id"], first["id"]]  # newest first
    assert await asyncio.to_thread(client.list, "running") == []
    assert [r["id"] for r in await asyncio.to_thread(client.list, "failed")] == [second["id"]]

    stdout = "".join(f"{line}\n" for line in numbered(12)).encode()
    assert await asyncio.to_thread(client.logs, first["id"], "stdout") == stdout
    assert await asyncio.to_thread(client.logs, first["id"], "stderr") == b"err 10\n"
    both = await asyncio.to_thread(client.logs, first["id"])
    assert sorted(both.splitlines()) == sorted([*stdout.splitlines(), b"err 10"])
    assert await asyncio.to_thread(client.logs, second["id"], "stderr") == b"err\n"

    assert await asyncio.to_thread(client.delete, first["id"]) is None
    with pytest.raises(NotFound):
        await asyncio.to_thread(client.get, first["id"])


async def test_create_with_cwd_and_env(client: NebulaClient, jp_root_dir: Path) -> None:
    (jp_root_dir / "sub").mkdir()
    record = await asyncio.to_thread(
        client.create, 'echo "$GREETING"; pwd', cwd="sub", env={"GREETING": "hello"}
    )
    assert record["cwd"] == "sub"
    await asyncio.to_thread(client.wait, record["id"], 20)
    out = (await asyncio.to_thread(client.logs, record["id"], "stdout")).decode()
    assert out.splitlines() == ["hello", str((jp_root_dir / "sub").resolve())]


async def test_logs_keep_exact_bytes(client: NebulaClient) -> None:
    record = await asyncio.to_thread(
        client.create, child("write_bytes", "out:ff00fe0a", "err:c328")
    )
    await asyncio.to_thread(client.wait, record["id"], 20)
    assert await asyncio.to_thread(client.logs, record["id"], "stdout") == b"\xff\x00\xfe\n"
    assert await asyncio.to_thread(client.logs, record["id"], "stderr") == b"\xc3\x28"


async def test_cancel_and_conflicts(client: NebulaClient) -> None:
    record = await asyncio.to_thread(client.create, ["sleep", "30"])
    with pytest.raises(Conflict) as deleting:
        await asyncio.to_thread(client.delete, record["id"])
    assert deleting.value.status == 409
    cancelled = await asyncio.to_thread(client.cancel, record["id"])
    assert cancelled["cancel_requested"] is True
    final = await asyncio.to_thread(client.wait, record["id"], 20)
    assert final["status"] == "cancelled"
    with pytest.raises(Conflict) as again:
        await asyncio.to_thread(client.cancel, record["id"])
    assert again.value.run is not None and again.value.run["status"] == "cancelled"
    assert "HTTP 409" in str(again.value) and again.value.message


@pytest.mark.parametrize(
    "nebula_config", [{"max_concurrent_runs": 1, "max_queued_runs": 1, "cancel_grace_seconds": 1}]
)
async def test_full_queue_is_queue_full(client: NebulaClient) -> None:
    running = await asyncio.to_thread(client.create, ["sleep", "30"])
    queued = await asyncio.to_thread(client.create, ["sleep", "30"])
    assert queued["status"] == "queued"
    with pytest.raises(QueueFull) as info:
        await asyncio.to_thread(client.create, ["true"])
    assert info.value.status == 429 and info.value.message
    for record in (queued, running):
        await asyncio.to_thread(client.cancel, record["id"])
    final = await asyncio.to_thread(client.wait, queued["id"], 20)
    assert final["status"] == "cancelled" and final["started_at"] is None


async def test_not_found_everywhere(client: NebulaClient) -> None:
    calls = [client.get, client.cancel, client.delete, client.logs]
    for call in calls:
        with pytest.raises(NotFound) as info:
            await asyncio.to_thread(call, "no-such-run")
        assert info.value.status == 404 and "no-such-run" in info.value.message
    with pytest.raises(NotFound):
        await asyncio.to_thread(lambda: list(client.follow("no-such-run")))


async def test_bad_requests_carry_the_server_message(client: NebulaClient) -> None:
    with pytest.raises(BadRequest) as missing:
        await asyncio.to_thread(client.create, ["true"], cwd="no/such/folder")
    assert "cwd" in missing.value.message and missing.value.status == 400
    with pytest.raises(BadRequest) as outside:
        await asyncio.to_thread(client.create, ["true"], cwd="../..")
    assert "cwd" in outside.value.message.lower() or "root" in outside.value.message.lower()
    with pytest.raises(ValueError, match="stream"):
        await asyncio.to_thread(client.logs, "x", "both")


async def test_wrong_token_is_unauthorized_and_never_echoed(
    server: Server, client: NebulaClient
) -> None:
    record = await asyncio.to_thread(client.create, ["true"])
    secret = "wrong-token-6f1d2c"
    bad = NebulaClient(server.url, secret, timeout_seconds=5)
    assert secret not in repr(bad) and server.token not in repr(client)
    for call, args in [(bad.list, ()), (bad.get, (record["id"],)), (bad.create, (["true"],))]:
        with pytest.raises(Unauthorized) as info:
            await asyncio.to_thread(call, *args)
        assert info.value.status in (401, 403)
        assert secret not in str(info.value) and secret not in repr(info.value)
    with pytest.raises(Unauthorized) as streaming:
        await asyncio.to_thread(lambda: list(bad.follow(record["id"])))
    assert secret not in str(streaming.value)
    anonymous = NebulaClient(server.url, None, timeout_seconds=5)
    with pytest.raises(Unauthorized):
        await asyncio.to_thread(anonymous.list)


async def test_extension_token_and_kernel_secret_are_credentials(
    server: Server, jp_serverapp: Any
) -> None:
    from nebula_jupyter.protocol import KERNEL_SECRET_ENV

    # The extension publishes the kernel secret once the loop runs; wait for that tick.
    kernel_secret = await wait_for(lambda: os.environ.get(KERNEL_SECRET_ENV), 5)
    assert kernel_secret != server.token
    for token in (CANARY_TOKEN, kernel_secret):
        other = NebulaClient(server.url, token, timeout_seconds=10)
        record = await asyncio.to_thread(other.create, child("lines", 3))
        final = await asyncio.to_thread(other.wait, record["id"], 20)
        assert final["status"] == "succeeded"


def unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def test_unreachable_server_and_timeout() -> None:
    nobody = NebulaClient(f"http://127.0.0.1:{unused_port()}/x/", "t", timeout_seconds=2)
    with pytest.raises(ServerUnavailable, match="cannot reach"):
        await asyncio.to_thread(nobody.list)
    with pytest.raises(ServerUnavailable):
        await asyncio.to_thread(lambda: list(nobody.follow("abc")))

    # A listener that accepts but never answers: the client's timeout must fire.
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen()
    try:
        port = silent.getsockname()[1]
        mute = NebulaClient(f"http://127.0.0.1:{port}/", "t", timeout_seconds=0.5)
        with pytest.raises(RequestTimeout) as info:
            await asyncio.wait_for(asyncio.to_thread(mute.get, "abc"), 10)
        assert isinstance(info.value, TimeoutError)
        async_mute = AsyncNebulaClient(f"http://127.0.0.1:{port}/", "t", timeout_seconds=0.5)
        with pytest.raises(RequestTimeout):
            await asyncio.wait_for(async_mute.get("abc"), 10)
    finally:
        silent.close()


# -- following ----------------------------------------------------------------------------


async def test_follow_yields_output_then_one_terminal_status(client: NebulaClient) -> None:
    record = await asyncio.to_thread(client.create, child("lines", 30, 0.01))
    events = await asyncio.to_thread(lambda: list(client.follow(record["id"])))
    outputs, statuses = collect(events)
    assert_each_line_once(outputs, 30)
    assert isinstance(events[-1], StatusMessage) and events[-1].terminal
    assert events[-1].status == "succeeded" and events[-1].run["exit_code"] == 0
    assert [s.status for s in statuses if s.terminal] == ["succeeded"]
    # No two consecutive status events say the same thing.
    keys = [(s.status, s.run.get("cancel_requested")) for s in statuses]
    assert all(a != b for a, b in itertools.pairwise(keys))


async def test_follow_after_resumes_at_a_seq(client: NebulaClient) -> None:
    record = await asyncio.to_thread(client.create, child("lines", 20))
    await asyncio.to_thread(client.wait, record["id"], 20)
    everything, _ = collect(await asyncio.to_thread(lambda: list(client.follow(record["id"]))))
    cut = everything[len(everything) // 2].seq
    rest, _ = collect(await asyncio.to_thread(lambda: list(client.follow(record["id"], cut))))
    assert [e.seq for e in rest] == [e.seq for e in everything if e.seq > cut]


@pytest.mark.parametrize("budgets", [[700, 900, 1500], [300] * 6])
async def test_follow_survives_dropped_connections(
    server: Server, proxy: CuttingProxy, jp_base_url: str, budgets: list[int]
) -> None:
    count = 400
    proxy.budgets = budgets
    through_proxy = NebulaClient(
        proxy.url(jp_base_url), server.token, timeout_seconds=10, reconnect_seconds=10
    )
    record = await asyncio.to_thread(through_proxy.create, child("lines", count, 0.002))
    events = await asyncio.to_thread(lambda: list(through_proxy.follow(record["id"])))
    assert proxy.cuts == len(budgets), "the proxy did not cut every planned connection"
    assert proxy.websocket_connections == len(budgets) + 1
    outputs, statuses = collect(events)
    assert_each_line_once(outputs, count)
    assert statuses[-1].status == "succeeded" and events[-1] is statuses[-1]


async def test_async_follow_survives_dropped_connections(
    server: Server, proxy: CuttingProxy, jp_base_url: str
) -> None:
    count = 300
    proxy.budgets = [600, 1200]
    async_client = AsyncNebulaClient(proxy.url(jp_base_url), server.token, timeout_seconds=10)
    record = await async_client.create(child("lines", count, 0.002))
    events = [event async for event in async_client.follow(record["id"])]
    assert proxy.cuts == 2
    outputs, statuses = collect(events)
    assert_each_line_once(outputs, count)
    assert statuses[-1].terminal and statuses[-1].status == "succeeded"


async def test_follow_gives_up_when_the_server_stays_away(
    server: Server, proxy: CuttingProxy, jp_base_url: str
) -> None:
    through_proxy = NebulaClient(
        proxy.url(jp_base_url), server.token, timeout_seconds=2, reconnect_seconds=1
    )
    record = await asyncio.to_thread(through_proxy.create, ["sleep", "30"])
    seen: list[Any] = []

    def follow() -> None:
        for event in through_proxy.follow(record["id"]):
            seen.append(event)

    task = asyncio.create_task(asyncio.to_thread(follow))
    await wait_for(lambda: seen, 10)
    await proxy.stop()
    with pytest.raises(ServerUnavailable, match="could not reconnect"):
        await asyncio.wait_for(task, 20)
    await asyncio.to_thread(NebulaClient(server.url, server.token).cancel, record["id"])


async def test_wait_timeout(client: NebulaClient) -> None:
    record = await asyncio.to_thread(client.create, ["sleep", "30"])
    with pytest.raises(TimeoutError):
        await asyncio.to_thread(client.wait, record["id"], 0.3)
    await asyncio.to_thread(client.cancel, record["id"])
    final = await asyncio.to_thread(client.wait, record["id"], 20)
    assert final["status"] == "cancelled"


async def test_stream_logs_follows_until_the_end(client: NebulaClient) -> None:
    record = await asyncio.to_thread(client.create, child("lines", 20, 0.01))
    chunks = await asyncio.to_thread(
        lambda: list(client.stream_logs(record["id"], "stdout", follow=True))
    )
    assert b"".join(chunks).decode().splitlines() == numbered(20)
    final = await asyncio.to_thread(client.get, record["id"])
    assert final["status"] == "succeeded"


# -- the asyncio client -------------------------------------------------------------------


async def test_async_client_calls_and_errors(server: Server) -> None:
    client = AsyncNebulaClient(server.url, server.token, timeout_seconds=10)
    assert server.token not in repr(client)
    record = await client.create(child("lines", 5), name="async")
    final = await client.wait(record["id"], 20)
    assert final["status"] == "succeeded"
    assert (await client.get(record["id"]))["name"] == "async"
    assert record["id"] in [r["id"] for r in await client.list()]
    assert (await client.logs(record["id"], "stdout")).decode().splitlines() == numbered(5)
    with pytest.raises(Conflict):
        await client.cancel(record["id"])
    await client.delete(record["id"])
    with pytest.raises(NotFound):
        await client.get(record["id"])
    with pytest.raises(BadRequest):
        await client.create(["true"], cwd="no/such/folder")
    with pytest.raises(Unauthorized):
        await AsyncNebulaClient(server.url, "nope", timeout_seconds=5).list()
    sleeper = await client.create(["sleep", "30"])
    with pytest.raises(TimeoutError):
        await client.wait(sleeper["id"], 0.2)
    assert (await client.cancel(sleeper["id"]))["cancel_requested"] is True
    assert (await client.wait(sleeper["id"], 20))["status"] == "cancelled"


# -- pure pieces ----------------------------------------------------------------------------


def test_follow_session_skips_repeats_and_duplicate_statuses() -> None:
    state = FollowSession(ServerAddress("http://127.0.0.1:1/"), "r", after=2)
    run = {"id": "r", "status": "running", "cancel_requested": False}
    running = {"type": "status", "status": "running", "run": run}
    assert isinstance(state.accept(json.dumps(running)), StatusMessage)
    assert state.accept(json.dumps(running)) is None  # repeated on reconnect
    assert state.accept(json.dumps({"type": "stdout", "seq": 2, "data": "old"})) is None
    event = state.accept(json.dumps({"type": "stderr", "seq": 3, "data": "new"}).encode())
    assert event == OutputMessage("stderr", 3, "new") and state.last_seq == 3
    assert state.accept(json.dumps({"type": "error", "code": "x", "message": "y"})) is None
    cancel = {"type": "status", "status": "running", "run": {**run, "cancel_requested": True}}
    assert isinstance(state.accept(json.dumps(cancel)), StatusMessage)
    assert not state.finished
    ended = {**run, "status": "cancelled"}
    done = state.accept(json.dumps({"type": "status", "status": "cancelled", "run": ended}))
    assert isinstance(done, StatusMessage) and done.terminal and state.finished


def test_client_module_imports_nothing_heavy() -> None:
    import subprocess

    code = (
        "import sys, nebula_jupyter.client;"
        "heavy = [m for m in sys.modules if m.split('.')[0] in "
        "('anywidget', 'ipywidgets', 'jupyter_server', 'tornado')];"
        "print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
