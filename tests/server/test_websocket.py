"""Contract tests for the run stream WebSocket (CONTRACT §3)."""

from __future__ import annotations

import asyncio
import json
import random
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError
from tornado.websocket import WebSocketClientConnection

from ..support.jupyter import Api, both_executors, child, output_text, read_all
from ..support.waiting import wait_for

TERMINAL = {"succeeded", "failed", "cancelled"}


def seqs(messages: list[dict[str, Any]]) -> list[int]:
    return [m["seq"] for m in messages if m["type"] in ("stdout", "stderr")]


async def next_of_type(ws: WebSocketClientConnection, kind: str) -> dict[str, Any]:
    """Skip messages until one of type ``kind`` arrives."""
    while (raw := await ws.read_message()) is not None:
        message = json.loads(raw)
        if message["type"] == kind:
            return message
    raise AssertionError(f"socket closed before a {kind!r} message")


def assert_well_formed(messages: list[dict[str, Any]]) -> None:
    """Seqs strictly increase; exactly one terminal status, and it is last."""
    numbers = seqs(messages)
    assert numbers == sorted(set(numbers))
    terminal = [m for m in messages if m["type"] == "status" and m["status"] in TERMINAL]
    assert len(terminal) == 1 and messages[-1] is terminal[0]


@both_executors
async def test_live_stream_status_first_output_then_terminal_last(api: Api) -> None:
    record = await api.create(child("lines", 30, 0.01))
    ws = await api.connect(record["id"])
    messages = await read_all(ws)
    assert messages[0]["type"] == "status"
    assert_well_formed(messages)
    assert messages[-1]["status"] == "succeeded"
    assert messages[-1]["run"]["exit_code"] == 0
    assert ws.close_code == 1000
    stdout = output_text(messages, "stdout")
    assert stdout == "".join(f"line {i}\n" for i in range(1, 31))
    assert output_text(messages, "stderr") == "".join(f"err {i}\n" for i in (10, 20, 30))


@both_executors
async def test_finished_run_replays_then_terminal_status(api: Api) -> None:
    record = await api.create(child("lines", 20))
    await api.wait_done(record["id"])
    messages = await api.stream(record["id"])
    assert messages[0]["type"] != "status"  # no "current status" first for a finished run
    assert_well_formed(messages)
    assert output_text(messages, "stdout").count("\n") == 20


@both_executors
async def test_after_resumes_exactly(api: Api) -> None:
    writes = [arg for i in range(50) for arg in (f"out:{f'{i},'.encode().hex()}", "sleep:0.002")]
    record = await api.create(child("write_bytes", *writes))
    await api.wait_done(record["id"])
    full = await api.stream(record["id"])
    text = output_text(full)
    assert text == "".join(f"{i}," for i in range(50))
    # Replay may merge neighbouring chunks, so resume from every message boundary seen.
    for after in [0, *seqs(full)]:
        part = await api.stream(record["id"], after=after)
        assert all(s > after for s in seqs(part))
        expected = "".join(m["data"] for m in full if m["type"] == "stdout" and m["seq"] > after)
        assert output_text(part) == expected
        assert_well_formed(part)


@pytest.mark.parametrize(
    "params",
    [{"after": "-1"}, {"after": "x"}, {"tail": "1.5"}, {"window": "0"}, {"after": "999999"}],
)
async def test_invalid_query_is_400_before_upgrade(api: Api, params: dict[str, str]) -> None:
    record = await api.create(["true"])
    await api.wait_done(record["id"])
    with pytest.raises(HTTPClientError) as info:
        await api.connect(record["id"], **params)
    assert info.value.code == 400


async def test_unknown_run_is_404(api: Api) -> None:
    with pytest.raises(HTTPClientError) as info:
        await api.connect("no-such-run")
    assert info.value.code == 404


@both_executors
async def test_tail_skips_history_and_announces_it(api: Api) -> None:
    chunks = [f"out:{('x' * 100).encode().hex()}", "sleep:0.05"] * 10
    record = await api.create(child("write_bytes", *chunks))
    await api.wait_done(record["id"])
    full = await api.stream(record["id"])
    total = len(output_text(full))
    messages = await api.stream(record["id"], tail=250)
    assert messages[0]["type"] == "truncated"
    kept = output_text(messages)
    assert 0 < len(kept) <= 250
    assert messages[0]["skipped_bytes"] == total - len(kept)
    first_seq = messages[0]["first_seq"]
    assert first_seq <= seqs(messages)[0]
    assert output_text(await api.stream(record["id"], after=first_seq - 1)) == kept
    assert_well_formed(messages)
    # A tail larger than the history skips nothing and sends no notice.
    assert (await api.stream(record["id"], tail=10**9))[0]["type"] != "truncated"
    # The newest chunk is always kept, even when larger than the tail.
    tiny = await api.stream(record["id"], tail=1)
    assert len(output_text(tiny)) == 100


@both_executors
async def test_utf8_never_split_and_invalid_bytes_replaced(api: Api) -> None:
    emoji = "😀".encode()
    record = await api.create(
        child(
            "write_bytes",
            f"out:{(b'a' + emoji[:2]).hex()}",
            "sleep:0.2",
            f"out:{(emoji[2:] + b'b').hex()}",
            f"err:{b'bad:'.hex()}ff00fe",
            "sleep:0.1",
            f"out:{emoji[:1].hex()}",
        )
    )
    await api.wait_done(record["id"])
    messages = await api.stream(record["id"])
    assert output_text(messages, "stdout") == "a😀b\ufffd"
    for message in messages:
        if message["type"] == "stdout" and "😀" in message["data"]:
            break
    else:
        pytest.fail("emoji not delivered whole")
    assert output_text(messages, "stderr") == "bad:\ufffd\x00\ufffd"
    assert await api.logs(record["id"], stream="stdout") == b"a" + emoji + b"b" + emoji[:1]
    assert await api.logs(record["id"], stream="stderr") == b"bad:\xff\x00\xfe"


@both_executors
async def test_twenty_clients_get_identical_complete_output(api: Api) -> None:
    record = await api.create(child("lines", 2000, 0.0005))
    sockets = await asyncio.gather(*(api.connect(record["id"]) for _ in range(20)))
    results = await asyncio.gather(*(read_all(ws) for ws in sockets))
    expected = "".join(f"line {i}\n" for i in range(1, 2001))
    for messages in results:
        assert output_text(messages, "stdout") == expected
        assert_well_formed(messages)
    assert len({output_text(m) for m in results}) == 1


@both_executors
async def test_resume_at_random_points_yields_every_line_once(api: Api) -> None:
    rng = random.Random(1234)
    record = await api.create(child("lines", 3000, 0.0003))
    received: list[str] = []
    after = 0
    done = False
    while not done:
        ws = await api.connect(record["id"], after=after)
        for _ in range(rng.randint(1, 40)):
            raw = await ws.read_message()
            if raw is None:
                done = True
                break
            message = json.loads(raw)
            if message["type"] == "stdout":
                assert message["seq"] > after
                received.append(message["data"])
                after = message["seq"]
        else:
            ws.close()
    lines = "".join(received).splitlines()
    assert lines == [f"line {i}" for i in range(1, 3001)]


@both_executors
async def test_cancel_message_and_conflict_error(api: Api) -> None:
    record = await api.create(child("lines", 100000, 0.01))
    ws = await api.connect(record["id"])
    first = json.loads(await ws.read_message())
    assert first["type"] == "status" and first["status"] in ("queued", "running")
    await next_of_type(ws, "stdout")  # running (a remote run is queued until it starts)
    ws.write_message(json.dumps({"type": "cancel"}))
    messages = await read_all(ws)
    statuses = [m for m in messages if m["type"] == "status"]
    assert statuses[-1]["status"] == "cancelled"
    assert any(m["run"]["cancel_requested"] and m["status"] == "running" for m in statuses)
    # On a finished run the cancel message gets a conflict error; the socket stays open.
    ws2 = await api.connect(record["id"], tail=1)
    ws2.write_message(json.dumps({"type": "cancel"}))
    rest = await read_all(ws2)
    assert rest[-1]["status"] == "cancelled"


async def test_bad_messages_get_errors_and_socket_stays_open(api: Api) -> None:
    record = await api.create(child("lines", 100000, 0.01))
    ws = await api.connect(record["id"])
    await ws.read_message()
    for bad in ("not json", "[1]", json.dumps({"type": "dance"}), json.dumps({"type": "ack"})):
        ws.write_message(bad)
        assert (await next_of_type(ws, "error"))["code"] == "bad_message"
    ws.write_message("x" * (65 * 1024))
    await wait_for(lambda: ws.close_code is not None, 5)
    assert ws.close_code == 1009
    await api.request("POST", "runs", record["id"], "cancel")


@both_executors
async def test_window_limits_unacknowledged_bytes(api: Api) -> None:
    record = await api.create(child("flood", 600_000))
    await api.wait_done(record["id"])
    window = 100_000
    ws = await api.connect(record["id"], window=window)
    received = 0
    unacked: list[tuple[int, int]] = []

    async def next_message() -> str | bytes | None:
        for _ in range(100):
            try:
                return await asyncio.wait_for(ws.read_message(), 0.3)
            except TimeoutError:
                # Stalled: the server must be waiting for our ack with a full window.
                assert unacked, "stalled with nothing in flight"
                in_flight = sum(size for _, size in unacked)
                assert in_flight <= window or len(unacked) == 1
                ws.write_message(json.dumps({"type": "ack", "seq": unacked[-1][0]}))
                unacked.clear()
        raise AssertionError("no progress")

    while (raw := await next_message()) is not None:
        message = json.loads(raw)
        if message["type"] == "stdout":
            size = len(message["data"].encode())
            unacked.append((message["seq"], size))
            assert sum(s for _, s in unacked) <= window or len(unacked) == 1
            received += size
    assert received == 600_000


@both_executors
async def test_twenty_megabyte_line_without_newline(api: Api) -> None:
    record = await api.create(child("flood", 20_000_000, 0))
    messages = await api.stream(record["id"])
    assert messages[-1]["status"] == "succeeded"
    assert len(output_text(messages)) == 20_000_000
    assert len(await api.logs(record["id"])) == 20_000_000


@both_executors
async def test_status_broadcast_to_every_client(api: Api) -> None:
    record = await api.create(child("ignore_term"))
    await api.wait_output(record["id"], b"ignoring")
    sockets: list[WebSocketClientConnection] = [await api.connect(record["id"]) for _ in range(3)]
    for ws in sockets:
        assert json.loads(await ws.read_message())["type"] == "status"
    await api.request("POST", "runs", record["id"], "cancel")
    for ws in sockets:
        messages = await read_all(ws)
        statuses = [m for m in messages if m["type"] == "status"]
        assert statuses[0]["run"]["cancel_requested"] is True
        assert statuses[0]["status"] == "running"
        assert statuses[-1]["status"] == "cancelled"
