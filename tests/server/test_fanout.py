"""Fan-out of one run's output and status to many viewers: ring, storage, order, flow control.

Real storage on ``tmp_path``, a fake sink, no server: the feed is driven the way ``server/run.py``
drives it (append to the log, then ``publish_output``; ``move_to``, then ``publish_status``).
"""

from __future__ import annotations

import asyncio
import json
import string
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from nebula_jupyter import protocol
from nebula_jupyter.protocol import RunStatus, Stream
from nebula_jupyter.server import fanout
from nebula_jupyter.server.fanout import OutputFeed, StreamQuery, Subscription
from nebula_jupyter.server.logs import Chunk, LogReader, LogWriter
from nebula_jupyter.server.records import StoredRun

from ..support.waiting import wait_for

OUTPUT_TYPES = ("stdout", "stderr")


class Run:
    """A run's log, feed and record, published in the order ``server/run.py`` uses."""

    def __init__(self, directory: Path) -> None:
        self.writer = LogWriter(directory)
        self.feed = OutputFeed(LogReader(directory))
        self.record = StoredRun(id="run1", command=["job"])
        self.pieces: list[tuple[Stream, bytes]] = []  # pieces[seq - 1] is chunk ``seq``
        self.tasks: list[asyncio.Task[None]] = []

    def output(self, stream: Stream, data: bytes) -> int:
        seq = self.writer.append(stream, data)
        self.pieces.append((stream, data))
        self.record.last_seq = seq
        self.feed.publish_output(Chunk(seq, stream, data))
        return seq

    def outputs(self, *sizes: int) -> None:
        """Publish one chunk per size; every third is stderr, so some neighbours share a stream."""
        for size in sizes:
            seq = len(self.pieces) + 1
            stream = Stream.STDERR if seq % 3 == 0 else Stream.STDOUT
            self.output(stream, (string.ascii_letters[seq % 52] * size).encode())

    def follow(self, sink: Sink, **query: Any) -> tuple[Subscription, asyncio.Task[None]]:
        """Start one viewer's subscription, as the WebSocket handler does."""
        subscription = Subscription(self.feed, StreamQuery(**query))
        self.tasks.append(asyncio.create_task(subscription.run(sink)))
        return subscription, self.tasks[-1]

    def status(self, status: RunStatus | None = None, *, cancel: bool = False) -> None:
        if status is not None:
            self.record.move_to(status)
        self.record.cancel_requested |= cancel
        self.feed.publish_status(self.record)


class Sink:
    """A FrameSink that records frames; each ``send`` returns ``flushed`` (None: written)."""

    def __init__(self, flushed: asyncio.Future[None] | None = None) -> None:
        self.frames: list[bytes] = []
        self.finished_after: list[int] = []  # len(frames) at each finish() call
        self.flushed = flushed

    def send(self, frame: bytes) -> asyncio.Future[None] | None:
        assert not self.finished_after, "a frame was sent after finish()"
        self.frames.append(frame)
        return self.flushed

    def finish(self) -> None:
        self.finished_after.append(len(self.frames))

    @property
    def messages(self) -> list[dict[str, Any]]:
        return [json.loads(frame) for frame in self.frames]

    def outputs(self) -> list[dict[str, Any]]:
        return [m for m in self.messages if m["type"] in OUTPUT_TYPES]

    def output_seqs(self) -> list[int]:
        return [m["seq"] for m in self.outputs()]

    def summary(self) -> list[int | str]:
        """Output frames as their seq, status frames as their status (``+cancel`` if asked)."""
        return [
            m["seq"]
            if m["type"] in OUTPUT_TYPES
            else m["status"] + ("+cancel" if m["run"]["cancel_requested"] else "")
            if m["type"] == "status"
            else m["type"]
            for m in self.messages
        ]


@pytest.fixture
def run(tmp_path: Path, jp_asyncio_loop: asyncio.AbstractEventLoop) -> Iterator[Run]:
    """Return a run that has been announced ``queued``, then ``running``, with no output yet."""
    run = Run(tmp_path / "run1")
    run.status()
    run.status(RunStatus.RUNNING)
    yield run
    # A failed test can leave a subscription waiting: end it while the test's loop still runs
    # tasks, so the failure is reported cleanly rather than as a task destroyed with the loop.
    for task in run.tasks:
        task.cancel()
    if run.tasks:
        jp_asyncio_loop.run_until_complete(asyncio.wait(run.tasks))
    run.writer.close()


async def until(condition: Callable[[], Any]) -> Any:
    """Wait for ``condition()`` without a polling delay: everything here is in-process."""
    return await wait_for(condition, timeout=2, interval=0)


async def reached(sink: Sink, seq: int) -> None:
    """Wait until ``sink`` has been sent the output up to ``seq``."""
    await until(lambda: sink.output_seqs()[-1:] == [seq])


async def finished(*tasks: asyncio.Task[None]) -> None:
    await until(lambda: all(task.done() for task in tasks))
    for task in tasks:
        task.result()  # re-raise what a subscription (or a sink assertion) raised


async def settle() -> None:
    """Let every ready task run until it blocks; nothing here waits on real I/O."""
    for _ in range(10):
        await asyncio.sleep(0)


def assert_each_chunk_once(sink: Sink, pieces: list[tuple[Stream, bytes]], after: int = 0) -> None:
    """Check the output frames carry chunks ``after + 1 ..`` once each, in order, none missing.

    A frame from storage may join neighbouring chunks of one stream; its seq is the last one's.
    """
    seq = after
    for message in sink.outputs():
        covered = pieces[seq : message["seq"]]
        assert covered, f"seq {message['seq']} after {seq}: repeated or out of order"
        assert {stream.label for stream, _ in covered} == {message["type"]}
        assert message["data"] == b"".join(data for _, data in covered).decode()
        seq = message["seq"]
    assert seq == len(pieces), f"chunks {seq + 1}..{len(pieces)} never arrived"


# -- ring and storage -----------------------------------------------------------------------


async def test_late_subscriber_replays_from_storage_then_follows_live(run: Run) -> None:
    # Nobody watches yet, so nothing goes into the ring: the replay can only come from storage.
    run.outputs(5, 7, 3, 9, 1, 4)
    run.output(Stream.STDOUT, 'é\n\x1b[1m\t"q"\\\r'.encode())
    sink = Sink()
    _, task = run.follow(sink)
    await reached(sink, 7)
    run.outputs(2, 8, 6)  # now live, through the ring
    run.status(RunStatus.SUCCEEDED)
    await finished(task)
    assert sink.summary()[0] == "running"
    assert sink.summary()[-1] == "succeeded"
    assert_each_chunk_once(sink, run.pieces)


async def test_cursor_older_than_the_ring_falls_back_to_storage(
    run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The ring keeps only the newest frame, and each storage read returns one chunk, so the
    # catch-up is storage for 1..7 and then the ring for 8: the hand-over must not skip or repeat.
    monkeypatch.setattr(fanout, "RING_BYTES", 1)
    monkeypatch.setattr(fanout, "STORAGE_READ_BYTES", 1)
    sink = Sink()
    _, task = run.follow(sink)
    await until(lambda: sink.frames)  # attached and caught up: the ring fills
    run.outputs(*[10] * 8)  # a burst: the ring moves past the subscriber before it wakes
    await reached(sink, 8)
    run.outputs(*[10] * 3)
    run.status(RunStatus.SUCCEEDED)
    await finished(task)
    assert_each_chunk_once(sink, run.pieces)


async def test_caught_up_subscribers_share_one_encoding_per_chunk(
    run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    encoded: list[bytes] = []
    real_output_frame = protocol.output_frame

    def counting_output_frame(stream: Stream, seq: int, data: bytes) -> bytes:
        encoded.append(real_output_frame(stream, seq, data))
        return encoded[-1]

    monkeypatch.setattr(protocol, "output_frame", counting_output_frame)
    first, second = Sink(), Sink()
    tasks = [run.follow(first)[1], run.follow(second)[1]]
    await until(lambda: first.frames and second.frames)  # both caught up
    run.outputs(3, 4, 5, 6, 7)
    run.status(RunStatus.SUCCEEDED)
    await finished(*tasks)
    # Encoded once per chunk (by publish_output), not once per subscriber, and both sinks
    # were handed the very bytes objects the ring holds.
    assert len(encoded) == 5
    for sink in (first, second):
        sent = [frame for frame in sink.frames if json.loads(frame)["type"] in OUTPUT_TYPES]
        assert all(frame is ring for frame, ring in zip(sent, encoded, strict=True))
        assert_each_chunk_once(sink, run.pieces)


# -- status order -----------------------------------------------------------------------------


async def test_status_comes_after_the_output_published_before_it(run: Run) -> None:
    sink = Sink()
    _, task = run.follow(sink)
    await until(lambda: sink.frames)
    # One burst, so the subscriber wakes once to output and statuses alike and must order them.
    run.outputs(4, 4, 4)
    run.status(cancel=True)  # an accepted cancel: still running, announced at once
    run.outputs(4, 4)
    run.status(RunStatus.CANCELLED)
    await finished(task)
    assert sink.summary() == ["running", 1, 2, 3, "running+cancel", 4, 5, "cancelled+cancel"]
    assert sink.finished_after == [len(sink.frames)]  # once, after the terminal status


async def test_joining_an_active_run_starts_with_its_current_status(run: Run) -> None:
    run.outputs(4, 4)
    run.status(cancel=True)
    run.outputs(4)
    sink = Sink()
    _, task = run.follow(sink)
    await reached(sink, 3)
    # The newest status only (not the history of statuses), before any replayed output
    # (chunks 1 and 2 share a stream, so the replay from storage joins them as seq 2).
    assert sink.summary() == ["running+cancel", 2, 3]
    run.status(RunStatus.CANCELLED)
    await finished(task)
    assert sink.summary()[-1] == "cancelled+cancel"
    assert sink.finished_after == [len(sink.frames)]


async def test_finished_run_replays_output_then_terminal_status_once(run: Run) -> None:
    run.outputs(4, 5, 6, 7)
    run.status(RunStatus.FAILED)
    sink = Sink()
    _, task = run.follow(sink)
    await finished(task)
    # A finished run's earlier statuses are not replayed: output, then the terminal one, last.
    assert [m["type"] for m in sink.messages][-1] == "status"
    assert [m["status"] for m in sink.messages if m["type"] == "status"] == ["failed"]
    assert_each_chunk_once(sink, run.pieces)
    assert sink.finished_after == [len(sink.frames)]


# -- flow control -----------------------------------------------------------------------------

WINDOW = 25
SIZES = [10, 10, 10, 10, 10, 40, 10, 10, 3]  # 40: one chunk larger than the whole window


@pytest.mark.parametrize("late", [False, True], ids=["live", "replay"])
async def test_window_caps_unacknowledged_bytes_until_acked(run: Run, late: bool) -> None:
    if late:  # replayed from storage (reads cut to the window) rather than the ring
        run.outputs(*SIZES)
    sink = Sink()
    subscription, task = run.follow(sink, window_bytes=WINDOW)
    if not late:
        await until(lambda: sink.frames)
        run.outputs(*SIZES)
    acked = stalls = 0
    while acked < len(SIZES):
        await settle()
        # In flight only grows between acks, so checking here, where it stopped, checks always.
        in_flight = [m for m in sink.outputs() if m["seq"] > acked]
        flight_bytes = sum(len(m["data"].encode()) for m in in_flight)
        assert in_flight, "stopped with nothing in flight"
        # Over the window only for one lone chunk (not a frame joining several) sent into
        # an empty window.
        lone_chunk = len(in_flight) == 1 and in_flight[0]["seq"] == acked + 1
        assert flight_bytes <= WINDOW or lone_chunk, sink.summary()
        sent = sink.output_seqs()[-1]
        if sent < len(SIZES):  # stalled: exactly because the next chunk would not fit
            stalls += 1
            assert flight_bytes + SIZES[sent] > WINDOW
        acked = in_flight[0]["seq"]  # ack one frame at a time: each frees a little room
        subscription.ack(acked)
    run.status(RunStatus.SUCCEEDED)
    await finished(task)
    assert stalls >= 4
    assert_each_chunk_once(sink, run.pieces)


async def test_slow_socket_waits_while_a_fast_one_gets_everything(
    run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fanout, "SOCKET_HIGH_WATER_BYTES", 1000)
    monkeypatch.setattr(fanout, "RING_BYTES", 1)  # the ring moves on without the slow one
    unflushed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    slow, fast = Sink(flushed=unflushed), Sink()
    slow_task, fast_task = run.follow(slow)[1], run.follow(fast)[1]
    await until(lambda: slow.frames and fast.frames)
    for _ in range(40):
        last = run.output(Stream.STDOUT, b"x" * 30)
        await reached(fast, last)
    run.status(RunStatus.SUCCEEDED)
    await until(lambda: fast.finished_after)
    await settle()
    # The slow subscriber stopped at the frame that reached the high-water mark, and nothing
    # was produced for it since: its cost is that one unflushed write.
    stopped_at = len(slow.frames)
    assert sum(map(len, slow.frames)) >= 1000 > sum(map(len, slow.frames[:-1]))
    assert slow.output_seqs()[-1] < 40
    unflushed.set_result(None)
    await finished(slow_task, fast_task)
    # It caught up from storage: the rest arrives joined into one frame, then the status.
    assert len(slow.frames) == stopped_at + 2
    assert_each_chunk_once(slow, run.pieces)
    assert_each_chunk_once(fast, run.pieces)
    assert slow.finished_after == [len(slow.frames)]


# -- tail -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("after", "tail", "truncated", "first"),
    [
        (0, 32, {"skipped_bytes": 35, "first_seq": 4}, 4),  # chunks 4 and 5 fit in 32
        (1, 32, {"skipped_bytes": 25, "first_seq": 4}, 4),  # already seen chunk 1: not skipped
        (0, 1, {"skipped_bytes": 65, "first_seq": 5}, 5),  # the newest chunk is always kept
        (4, 32, None, 5),  # the resume point is past what tail would skip
        (0, 1000, None, 1),  # everything fits
    ],
)
async def test_tail_skips_old_output_and_says_so_first(
    run: Run, after: int, tail: int, truncated: dict[str, int] | None, first: int
) -> None:
    # 67 bytes in all; chunks 3 and 4 share a stream, so a full replay joins them.
    run.output(Stream.STDOUT, b"a" * 10)
    run.output(Stream.STDERR, b"b" * 5)
    run.output(Stream.STDOUT, b"c" * 20)
    run.output(Stream.STDOUT, b"d" * 30)
    run.output(Stream.STDERR, b"e" * 2)
    run.status(RunStatus.SUCCEEDED)
    sink = Sink()
    _, task = run.follow(sink, after_seq=after, tail_bytes=tail)
    await finished(task)
    messages = sink.messages
    if truncated is not None:
        assert messages.pop(0) == {"type": "truncated", **truncated}
    assert all(m["type"] != "truncated" for m in messages)
    assert_each_chunk_once(sink, run.pieces, after=first - 1)
    assert messages[-1]["status"] == "succeeded"
    assert sink.finished_after == [len(sink.frames)]
