"""Fan-out of one run's output and status to many viewers: ring, storage, order, flow control.

Real storage on ``tmp_path``, a fake sink, no server: the feed is driven the way ``server/run.py``
drives it (append to the log, then ``publish_output``; ``move_to``, then ``publish_status``).
"""

from __future__ import annotations

import asyncio
import collections
import gc
import json
import string
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from nebula_jupyter import protocol
from nebula_jupyter.protocol import RunStatus, Stream
from nebula_jupyter.server import fanout, ring
from nebula_jupyter.server.fanout import OutputFeed, StreamQuery, Subscription
from nebula_jupyter.server.logs import Chunk, LogReader, LogWriter
from nebula_jupyter.server.records import StoredRun

from ..support.waiting import wait_for

OUTPUT_TYPES = ("stdout", "stderr")
OUTPUT_FRAME_HEADS = (b'{"type":"stdout"', b'{"type":"stderr"')


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


def frames_kept(feed: OutputFeed) -> int:
    """Return the bytes of encoded output frames ``feed`` keeps alive, however it stores them.

    Walks the feed, its containers and its own helper objects (not the subscriptions, which
    reference their sinks): a frame counts until the feed lets go of its last reference.
    """
    total, seen, todo = 0, set(), [feed]
    while todo:
        obj = todo.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        if isinstance(obj, bytes):
            total += len(obj) if obj.startswith(OUTPUT_FRAME_HEADS) else 0
        elif (
            obj is feed
            or isinstance(obj, list | tuple | dict | set | collections.deque)
            or (
                type(obj).__module__ in (fanout.__name__, ring.__name__)
                and not isinstance(obj, Subscription)
            )
        ):
            todo.extend(gc.get_referents(obj))
    return total


def encoded_size(seq: int, data: bytes) -> int:
    return len(protocol.output_frame(Stream.STDOUT, seq, data))


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
    monkeypatch.setattr(fanout, "RING_MAX_BYTES", 1)
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


# -- how much the ring keeps -----------------------------------------------------------------

BIG = 64 * 1024  # a bulk chunk: a few of them reach SOCKET_HIGH_WATER_BYTES


async def test_ring_keeps_only_frames_a_caught_up_subscriber_has_yet_to_send(run: Run) -> None:
    fast, slow = Sink(), Sink()
    run.follow(fast)
    slow_subscription, _ = run.follow(slow, window_bytes=25)  # held back by its window
    await until(lambda: fast.frames and slow.frames)
    run.outputs(10, 10, 10, 10, 10)
    await reached(fast, 5)
    await settle()
    # The window let the slow one take 1 and 2 (20 bytes; 3 would exceed 25): the ring keeps
    # 3..5 for it, and nothing that both have sent.
    assert slow.output_seqs() == [1, 2]
    assert frames_kept(run.feed) == sum(
        encoded_size(seq, data) for seq, (_, data) in enumerate(run.pieces, 1) if seq > 2
    )
    while slow.output_seqs()[-1] < 5:  # acked as it goes, it catches up from the ring
        slow_subscription.ack(slow.output_seqs()[-1])
        await settle()
    slow_subscription.ack(5)
    run.outputs(10)
    await reached(slow, 6)
    await reached(fast, 6)
    # Trimmed when output comes: nothing is kept once both have sent it.
    assert frames_kept(run.feed) == 0
    run.status(RunStatus.SUCCEEDED)
    await until(lambda: fast.finished_after and slow.finished_after)
    assert_each_chunk_once(fast, run.pieces)
    assert_each_chunk_once(slow, run.pieces)


async def test_caught_up_subscriber_is_sent_new_output_by_publish_itself(run: Run) -> None:
    sink = Sink()
    _, task = run.follow(sink)
    await until(lambda: sink.frames)
    await settle()  # caught up and idle
    run.outputs(5)
    # No await since: the frame went out within publish_output, not by waking the task.
    assert sink.summary() == ["running", 1]
    run.status(cancel=True)
    run.outputs(5)
    # A status is the task's to send, and output after it must wait for it.
    assert sink.summary() == ["running", 1]
    await reached(sink, 2)
    assert sink.summary() == ["running", 1, "running+cancel", 2]
    run.outputs(5)
    assert sink.summary()[-1] == 3  # idle again: sent directly again
    run.status(RunStatus.CANCELLED)
    await finished(task)
    assert_each_chunk_once(sink, run.pieces)


async def stall_one(run: Run, *, beside: Sink | None) -> tuple[Sink, asyncio.Future[None], int]:
    """Stall a viewer (its socket never drains) while about 2x STALL_BYTES are published.

    ``beside``: a viewer that keeps up next to it, or None for a stalled viewer alone.
    Return the stalled sink, the flush that resumes it, and the most frames_kept after any
    publish.
    """
    unflushed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    stalled = Sink(flushed=unflushed)
    run.follow(stalled)
    if beside is not None:
        run.follow(beside)
    await until(lambda: stalled.frames and (beside is None or beside.frames))
    most = 0
    for _ in range(2 * fanout.STALL_BYTES // BIG):
        last = run.output(Stream.STDOUT, b"x" * (BIG - 1) + b"\n")
        most = max(most, frames_kept(run.feed))
        if beside is not None:
            await reached(beside, last)
        await settle()
    # It stopped when its socket reached the high-water mark, a few frames in.
    assert stalled.output_seqs()[-1] < 10
    return stalled, unflushed, most


@pytest.mark.parametrize("alone", [False, True], ids=["beside_a_moving_one", "alone"])
async def test_stalled_subscriber_pins_no_more_than_the_stall_allowance(
    run: Run, alone: bool
) -> None:
    _, _, most = await stall_one(run, beside=None if alone else Sink())
    # Let go once the others (or the head) are STALL_BYTES ahead: the ring never kept much
    # more than that (the old constant ring kept all 2x STALL_BYTES), and keeps nothing now
    # that the one moving viewer has it all.
    assert most <= fanout.STALL_BYTES * 5 // 4
    assert frames_kept(run.feed) == 0


async def test_subscriber_let_go_gets_every_byte_in_order_from_storage(run: Run) -> None:
    beside = Sink()
    stalled, unflushed, _ = await stall_one(run, beside=beside)
    stopped_at = len(stalled.outputs())
    unflushed.set_result(None)
    run.outputs(*[100] * 5)  # the run goes on while it catches up
    run.status(RunStatus.SUCCEEDED)
    await until(lambda: stalled.finished_after and beside.finished_after)
    assert_each_chunk_once(stalled, run.pieces)
    assert_each_chunk_once(beside, run.pieces)
    # What it missed came from storage, several chunks a frame (STORAGE_READ_BYTES each),
    # not from frames kept for it.
    caught_up = stalled.outputs()[stopped_at:]
    assert len(caught_up) < len(run.pieces) - stopped_at


async def test_viewers_paused_together_keep_sharing_the_ring(
    run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    encoded: list[bytes] = []
    real_output_frame = protocol.output_frame

    def counting_output_frame(stream: Stream, seq: int, data: bytes) -> bytes:
        encoded.append(real_output_frame(stream, seq, data))
        return encoded[-1]

    monkeypatch.setattr(protocol, "output_frame", counting_output_frame)
    loop = asyncio.get_running_loop()
    flushes: list[asyncio.Future[None]] = [loop.create_future(), loop.create_future()]
    sinks = [Sink(flushed=flush) for flush in flushes]
    tasks = [run.follow(sink)[1] for sink in sinks]
    await until(lambda: all(sink.frames for sink in sinks))
    # Both stop reading (one busy client process, say) while 2x STALL_BYTES go by: neither
    # is behind the other, so neither is let go, and the ring keeps what both still need.
    for _ in range(2 * fanout.STALL_BYTES // BIG):
        run.output(Stream.STDOUT, b"y" * (BIG - 1) + b"\n")
        await settle()
    for flush in flushes:
        flush.set_result(None)
    run.status(RunStatus.SUCCEEDED)
    await finished(*tasks)
    # Once each, however late they read: every frame they were sent is the one encoding.
    assert len(encoded) == len(run.pieces)
    for sink in sinks:
        assert_each_chunk_once(sink, run.pieces)
        sent = [frame for frame in sink.frames if json.loads(frame)["type"] in OUTPUT_TYPES]
        assert all(frame is ring for frame, ring in zip(sent, encoded, strict=True))
    assert frames_kept(run.feed) == 0  # and none once both have them


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
    monkeypatch.setattr(fanout, "RING_MAX_BYTES", 1)  # the ring moves on without the slow one
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
