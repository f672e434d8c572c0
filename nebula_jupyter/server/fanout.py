"""Fan-out of one run's output and status to any number of subscribers.

Each subscriber is a :class:`Subscription` with its own cursor (the last seq it was sent).
A caught-up subscriber takes frames from a small shared ring of pre-encoded frames, so a chunk
is JSON-encoded once however many clients watch; a lagging one reads from storage at its own
pace. Nothing is ever queued per subscriber, so a slow client costs the server at most one
in-flight write, and the run never waits for anyone.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
from collections.abc import Awaitable
from typing import Protocol

from .. import protocol
from ..protocol import Stream, TruncatedMessage
from .logs import Chunk, LogReader
from .records import StoredRun

RING_BYTES = 8 << 20
STORAGE_READ_BYTES = 256 * 1024
SOCKET_HIGH_WATER_BYTES = 256 * 1024


@dataclasses.dataclass(frozen=True)
class StatusChange:
    """A status change, ordered after the output stored before it (``after_seq``)."""

    version: int
    after_seq: int
    frame: bytes
    terminal: bool


class RunDeleted(Exception):
    """The run was deleted while a subscriber still had output to send (CONTRACT §3 v2).

    The stream must then end without a terminal status: a status after incomplete output
    would present a truncated stream as complete.
    """


@dataclasses.dataclass(frozen=True)
class StreamQuery:
    """What one viewer asked for (CONTRACT §3 query): resume point, history cap, window."""

    after_seq: int = 0
    tail_bytes: int | None = None
    window_bytes: int | None = None


@dataclasses.dataclass(frozen=True)
class _RingFrame:
    seq: int
    data_bytes: int
    frame: bytes


class OutputFeed:
    """What subscribers of one run wait on: the newest seq, status events, shared frames."""

    def __init__(self, reader: LogReader, last_seq: int = 0) -> None:
        self.reader = reader
        self.last_seq = last_seq
        self.subscriber_count = 0
        self._ring: collections.deque[_RingFrame] = collections.deque()
        self._ring_bytes = 0
        self._events: list[StatusChange] = []
        self._changed = asyncio.Event()
        self.deleted = False

    @property
    def ended(self) -> bool:
        """Say whether the run's terminal status has been published."""
        return bool(self._events) and self._events[-1].terminal

    def advance(self, last_seq: int) -> None:
        """Announce chunks up to ``last_seq`` that someone else stored (another server).

        Subscribers read them from storage; nothing goes into the shared ring.
        """
        if last_seq > self.last_seq:
            self.last_seq = last_seq
            self._notify()

    def mark_deleted(self) -> None:
        """The run's output is gone: subscribers that have not finished stop with RunDeleted."""
        self.deleted = True
        self._notify()

    def publish_output(self, chunk: Chunk) -> None:
        """Announce a chunk that is already stored."""
        self.last_seq = chunk.seq
        if self.subscriber_count:
            frame = protocol.output_frame(chunk.stream, chunk.seq, chunk.data)
            self._ring.append(_RingFrame(chunk.seq, len(chunk.data), frame))
            self._ring_bytes += len(frame)
            while self._ring_bytes > RING_BYTES and len(self._ring) > 1:
                self._ring_bytes -= len(self._ring.popleft().frame)
        elif self._ring:
            self._ring.clear()
            self._ring_bytes = 0
        self._notify()

    def publish_status(self, record: StoredRun) -> None:
        """Announce a status change (or an accepted cancel) after the output so far."""
        event = StatusChange(
            version=len(self._events) + 1,
            after_seq=self.last_seq,
            frame=protocol.status_frame(record.to_record()),
            terminal=record.status.terminal,
        )
        self._events.append(event)
        self._notify()

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    def changed(self) -> asyncio.Event:
        """Return the event that is set at the next change."""
        return self._changed

    @property
    def status_version(self) -> int:
        """Return the number of status events so far."""
        return len(self._events)

    def status_event(self, version: int) -> StatusChange | None:
        """Return status event number ``version`` (1-based), if it exists."""
        return self._events[version - 1] if 0 < version <= len(self._events) else None

    def replay_start(
        self, after_seq: int, tail_bytes: int | None
    ) -> tuple[int, TruncatedMessage | None]:
        """Return where a new subscriber starts and what ``tail`` skipped (CONTRACT §3 ``tail``).

        ``after_seq`` is the client's resume point; ``tail_bytes`` (or None) caps the history
        replayed, always keeping at least the newest chunk.
        """
        if tail_bytes is None or self.last_seq <= after_seq:
            return after_seq, None
        start, skipped = self.reader.tail_start(self.last_seq, tail_bytes)
        if start <= after_seq:
            return after_seq, None
        if after_seq:
            skipped = self.reader.bytes_between(after_seq, start)
        return start, TruncatedMessage(skipped_bytes=skipped, first_seq=start + 1)

    def ring_frames(self, after_seq: int, limit_seq: int) -> list[_RingFrame]:
        """Return shared frames following ``after_seq`` contiguously, up to ``limit_seq``."""
        if not self._ring or self._ring[0].seq > after_seq + 1:
            return []
        start = after_seq + 1 - self._ring[0].seq
        frames = []
        for index in range(start, len(self._ring)):
            item = self._ring[index]
            if item.seq > limit_seq:
                break
            frames.append(item)
        return frames


class FrameSink(Protocol):
    """Where a subscription writes frames (a WebSocket in production)."""

    def send(self, frame: bytes) -> Awaitable[None] | None:
        """Queue one text frame; the awaitable resolves when the transport has flushed it."""

    def finish(self) -> None:
        """Close normally after the terminal status."""


class Subscription:
    """One client's ordered view of a run: replay, live output, status, flow control."""

    sink: FrameSink

    def __init__(self, feed: OutputFeed, query: StreamQuery) -> None:
        """Follow ``feed`` as ``query`` asks; ``tail`` history is skipped here, once."""
        self.feed = feed
        self.window_bytes = query.window_bytes
        self.cursor, self.truncation = feed.replay_start(query.after_seq, query.tail_bytes)
        self._unacked: collections.deque[tuple[int, int]] = collections.deque()
        self._in_flight = 0
        self._unflushed = 0
        self._acked = asyncio.Event()

    def ack(self, seq: int) -> None:
        """Record the client's cumulative acknowledgement."""
        while self._unacked and self._unacked[0][0] <= seq:
            self._in_flight -= self._unacked.popleft()[1]
        self._acked.set()

    async def run(self, sink: FrameSink) -> None:
        """Send everything the client should see to ``sink``, ending with the terminal status."""
        feed = self.feed
        self.sink = sink
        feed.subscriber_count += 1
        try:
            if self.truncation is not None:
                skipped = self.truncation
                await self._send(protocol.truncated_frame(skipped.skipped_bytes, skipped.first_seq))
            version = feed.status_version
            current = feed.status_event(version)
            if current is not None and not current.terminal:
                await self._send(current.frame)
            else:
                version -= 1  # a finished run: replay, then its terminal status
            while True:
                if feed.deleted:
                    raise RunDeleted(feed.reader.run_id)
                changed = feed.changed()
                event = feed.status_event(version + 1)
                limit = event.after_seq if event else feed.last_seq
                if self.cursor < limit:
                    await self._send_output(limit)
                    continue
                if event is not None:
                    await self._send(event.frame)
                    version += 1
                    if event.terminal:
                        self.sink.finish()
                        return
                    continue
                await changed.wait()
        finally:
            feed.subscriber_count -= 1

    async def _send_output(self, limit: int) -> None:
        frames = self.feed.ring_frames(self.cursor, limit)
        if frames:
            for item in frames:
                await self._wait_for_window(item.data_bytes)
                await self._send(item.frame, seq=item.seq, data_bytes=item.data_bytes)
            return
        budget = STORAGE_READ_BYTES
        if self.window_bytes is not None:
            budget = min(budget, max(1, self.window_bytes - self._in_flight))
        chunks = self.feed.reader.read(self.cursor, limit, budget)
        if not chunks:
            # Stored output vanished under us: the run was deleted.
            raise RunDeleted(self.feed.reader.run_id)
        for stream, seq, data in _merge_by_stream(chunks):
            await self._wait_for_window(len(data))
            await self._send(
                protocol.output_frame(stream, seq, data), seq=seq, data_bytes=len(data)
            )

    async def _wait_for_window(self, data_bytes: int) -> None:
        if self.window_bytes is None:
            return
        while self._in_flight and self._in_flight + data_bytes > self.window_bytes:
            self._acked.clear()
            # A client that stopped acking must still learn that the run was deleted.
            deleted = self.feed.changed()
            waiters = {
                asyncio.ensure_future(self._acked.wait()),
                asyncio.ensure_future(deleted.wait()),
            }
            try:
                await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for waiter in waiters:
                    waiter.cancel()
            if self.feed.deleted:
                raise RunDeleted(self.feed.reader.run_id)

    async def _send(self, frame: bytes, *, seq: int = 0, data_bytes: int = 0) -> None:
        flushed = self.sink.send(frame)
        if seq:
            self.cursor = seq
            if self.window_bytes is not None:
                self._unacked.append((seq, data_bytes))
                self._in_flight += data_bytes
        self._unflushed += len(frame)
        if flushed is not None and self._unflushed >= SOCKET_HIGH_WATER_BYTES:
            # Bound what a slow client can make the server buffer: wait until the
            # transport drained before producing more frames for it.
            await flushed
            self._unflushed = 0


def _merge_by_stream(chunks: list[Chunk]) -> list[tuple[Stream, int, bytes]]:
    """Join neighbouring chunks of the same stream into one message (seq of the last one)."""
    merged: list[tuple[Stream, int, bytes]] = []
    pending: list[bytes] = []
    for index, chunk in enumerate(chunks):
        pending.append(chunk.data)
        following = chunks[index + 1] if index + 1 < len(chunks) else None
        if following is None or following.stream is not chunk.stream:
            merged.append((chunk.stream, chunk.seq, b"".join(pending)))
            pending = []
    return merged
