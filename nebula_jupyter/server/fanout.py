"""Fan-out of one run's output and status to any number of subscribers.

Each subscriber is a :class:`Subscription` with its own cursor (the last seq it was sent).
A caught-up subscriber takes frames from a shared ring of pre-encoded frames, so a chunk is
JSON-encoded once however many clients watch; a lagging one reads from storage at its own pace.
Nothing is ever queued per subscriber, so a slow client costs the server at most one in-flight
write, and the run never waits for anyone. A subscriber that is caught up and idle is "parked":
its task sleeps and ``publish_output`` sends it each new frame directly, as a plain broadcast
would, until something needs the task (a status, a full window, a backed-up socket).

The ring is sized by its readers, not by a constant. It keeps the frames after the slowest
reader's cursor and no more, so a run whose viewers keep up keeps about one frame; and at most
``RING_MAX_BYTES``, so a subscriber further behind reads from storage until it reaches the ring
again. The ring lets go of subscribers it would keep frames for without sharing them (they read
from storage, and are readers again once caught up, back in the ring, or moving again):

- a *stalled* one: more than ``STALL_BYTES`` behind the nearest reader ahead of it (or the
  head), and it sent nothing while the leading reader moved ``STALL_BYTES`` on. Viewers spread
  out behind one another, or all paused at once (one busy client process), keep sharing the
  ring; one stalled viewer next to moving ones pins about ``STALL_BYTES``, not the whole ring;
- a *lone* one more than ``STALL_BYTES`` behind the head: from storage it costs what the ring
  would (one encoding per byte).
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
from .ring import FrameRing, RingFrame

# Encoded bytes: the most the ring keeps, whoever needs it (slow viewers of a fast run).
RING_MAX_BYTES = 8 << 20
# Encoded bytes: how far a subscriber may fall behind the one ahead of it (or the head) and,
# for a stall, how far the leader may move on while it sends nothing, before it is let go.
# A slow socket moves every SOCKET_HIGH_WATER_BYTES or so; a stalled one does not move at all.
STALL_BYTES = 2 << 20
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


class OutputFeed:
    """What subscribers of one run wait on: the newest seq, status events, shared frames."""

    def __init__(self, reader: LogReader, last_seq: int = 0) -> None:
        self.reader = reader
        self.last_seq = last_seq
        self._ring = FrameRing()
        self._subscribers: set[Subscription] = set()
        self._readers: set[Subscription] = set()  # the subscribers not let go: the ring is theirs
        # Caught-up subscriptions whose tasks sleep: publish_output hands them each new frame.
        self._parked: dict[Subscription, asyncio.Future[None]] = {}
        # Positions in the stream are counted in encoded bytes put in the ring (published_bytes,
        # and RingFrame.end); leader is the furthest position sent to anyone from the ring.
        self.published_bytes = 0
        self.leader = 0
        self._looked_at = 0  # published_bytes when _let_go last ran
        self._events: list[StatusChange] = []
        self._changed = asyncio.Event()
        self.deleted = False

    @property
    def subscriber_count(self) -> int:
        """Return how many subscriptions are running."""
        return len(self._subscribers)

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
        ring = self._ring
        if not self._readers:
            # Nobody watches, or every subscriber was let go: each reads from storage.
            ring.clear()
            self._wake_parked()
        else:
            if ring and ring.last_seq != chunk.seq - 1:
                ring.clear()  # the ring's frames are consecutive; a gap starts it afresh
            frame = protocol.output_frame(chunk.stream, chunk.seq, chunk.data)
            self.published_bytes += len(frame)
            item = RingFrame(chunk.seq, len(chunk.data), frame, self.published_bytes)
            ring.append(item)
            if self._parked:
                # Sent from here rather than by waking each task: a live chunk then costs one
                # sink.send per viewer, as in a plain broadcast.
                self.leader = item.end
                parked = self._parked
                for subscription in list(parked):
                    if not subscription.push(item):
                        parked.pop(subscription).set_result(None)
            self._trim()
        self._changed.set()
        self._changed = asyncio.Event()

    def _trim(self) -> None:
        """Keep the frames after the slowest reader's cursor, at most ``RING_MAX_BYTES``."""
        ring = self._ring
        while ring.bytes > RING_MAX_BYTES and len(ring) > 1:
            ring.drop_oldest()
        # Nobody can be STALL_BYTES behind anyone in a smaller ring; and looking every
        # STALL_BYTES / 8 is enough (it sorts the readers).
        if ring.bytes > STALL_BYTES and self.published_bytes - self._looked_at >= STALL_BYTES // 8:
            self._looked_at = self.published_bytes
            self._let_go()
        floor = min((reader.cursor for reader in self._readers), default=self.last_seq)
        ring.drop_through(floor)

    def _let_go(self) -> None:
        """Let go of the readers the ring would keep frames for without sharing them."""
        ring = self._ring
        first = ring.get(ring.first_seq)
        assert first is not None
        before_first = first.end - len(first.frame)  # also stands for cursors older than that
        if len(self._readers) == 1:
            (reader,) = self._readers
            item = ring.get(reader.cursor)
            if self.published_bytes - (item.end if item else before_first) > STALL_BYTES:
                self._release(reader)
            return
        stalled_before = self.leader - STALL_BYTES
        positions = []
        for reader in self._readers:
            item = ring.get(reader.cursor)
            positions.append((item.end if item else before_first, reader))
        positions.sort(key=lambda pair: pair[0], reverse=True)
        # From the head back: each reader keeps up with the nearest kept one ahead of it,
        # or is cut off; a cut-off reader that still moves is kept, a stalled one let go.
        edge = self.published_bytes
        for position, reader in positions:
            if edge - position > STALL_BYTES and reader.led_at < stalled_before:
                self._release(reader)
            else:
                edge = position

    def attach(self, subscription: Subscription) -> None:
        """Count ``subscription`` in: the ring keeps frames for it from now on."""
        subscription.led_at = self.leader
        self._subscribers.add(subscription)
        self._readers.add(subscription)
        subscription.released = False

    def detach(self, subscription: Subscription) -> None:
        """Count ``subscription`` out; the last reader to go empties the ring."""
        self._subscribers.discard(subscription)
        self._parked.pop(subscription, None)
        self._release(subscription)
        if not self._readers:
            self._ring.clear()

    def hold(self, subscription: Subscription, position: int) -> None:
        """Note that ``subscription`` is at ``position`` in the ring, or caught up; keep its frames.

        Called when it is caught up (``position`` = ``published_bytes``) and for every frame it
        sends from the ring.
        """
        if position > self.leader:
            self.leader = position
        subscription.led_at = self.leader
        if subscription.released:
            subscription.released = False
            self._readers.add(subscription)
        elif len(self._readers) == 1:
            # Trimming otherwise waits for the next output (it looks at every reader); a lone
            # reader's frames can go at once, so that a run gone quiet keeps nothing.
            self._ring.drop_through(subscription.cursor)

    def resume(self, subscription: Subscription) -> None:
        """Count a let-go ``subscription`` again: it moves, from storage, with others to share.

        The ring then stops dropping frames it has not reached (up to ``RING_MAX_BYTES``), so a
        viewer that only paused for a moment gets back to the shared frames; if it stalls again
        it is let go again.
        """
        if self._readers:
            subscription.led_at = self.leader
            subscription.released = False
            self._readers.add(subscription)

    def _release(self, subscription: Subscription) -> None:
        subscription.released = True
        self._readers.discard(subscription)

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
        self._wake_parked()

    def park(self, subscription: Subscription) -> asyncio.Future[None]:
        """Return what caught-up ``subscription`` waits on; new output goes to its ``push``.

        The future resolves when its task has to act: a status change, a deletion, output it
        cannot take from ``push`` (window full, socket backed up).
        """
        waiter = asyncio.get_running_loop().create_future()
        self._parked[subscription] = waiter
        return waiter

    def _wake_parked(self) -> None:
        for waiter in self._parked.values():
            if not waiter.done():
                waiter.set_result(None)
        self._parked.clear()

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

    def ring_frame(self, seq: int) -> RingFrame | None:
        """Return the shared frame of chunk ``seq``, if the ring still keeps it."""
        return self._ring.get(seq)


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
        self.released = True  # let go by the feed: the ring keeps nothing for it
        self.led_at = 0  # the feed's leader position when this one last sent output
        self._unacked: collections.deque[tuple[int, int]] = collections.deque()
        self._in_flight = 0
        self._unflushed = 0
        self._acked = asyncio.Event()
        # Left by push() for the task: a write to wait for, or what sending raised.
        self._flushing: Awaitable[None] | None = None
        self._failure: Exception | None = None

    def ack(self, seq: int) -> None:
        """Record the client's cumulative acknowledgement."""
        while self._unacked and self._unacked[0][0] <= seq:
            self._in_flight -= self._unacked.popleft()[1]
        self._acked.set()

    async def run(self, sink: FrameSink) -> None:
        """Send everything the client should see to ``sink``, ending with the terminal status."""
        feed = self.feed
        self.sink = sink
        feed.attach(self)
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
                if self._failure is not None:
                    raise self._failure
                if self._flushing is not None:
                    flushing, self._flushing = self._flushing, None
                    await flushing
                    self._unflushed = 0
                if feed.deleted:
                    raise RunDeleted(feed.reader.run_id)
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
                # Caught up, and nothing since the checks above (no await): the feed sends the
                # next frames through push() until something needs this task.
                feed.hold(self, feed.published_bytes)
                await feed.park(self)
        finally:
            feed.detach(self)

    async def _send_output(self, limit: int) -> None:
        feed = self.feed
        item = feed.ring_frame(self.cursor + 1)
        if item is not None and item.seq <= limit:
            # One frame at a time, looked up after every wait: a list taken up front would keep
            # frames alive that the ring has since let go.
            feed.hold(self, item.end - len(item.frame))
            while item is not None and item.seq <= limit:
                await self._wait_for_window(item.data_bytes)
                await self._send(item.frame, seq=item.seq, data_bytes=item.data_bytes)
                sent, item = item, feed.ring_frame(self.cursor + 1)
                # Let go while waiting, it counts again only if the ring still has its next frame.
                if not self.released or item is not None:
                    feed.hold(self, sent.end)
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
        if self.released:
            self.feed.resume(self)

    def push(self, item: RingFrame) -> bool:
        """Send the new frame ``item`` for the parked task; say False if the task must act.

        The same sending as ``_send``, without waiting: False when the window has no room,
        the frame does not follow the cursor, sending raised, or the socket reached its
        high-water mark (the task then waits for the flush before sending more).
        """
        window = self.window_bytes
        if window is not None and self._in_flight and self._in_flight + item.data_bytes > window:
            return False
        if item.seq != self.cursor + 1:
            return False
        try:
            flushed = self.sink.send(item.frame)
        except Exception as exc:  # raised by the task, as _send would have
            self._failure = exc
            return False
        self.cursor = item.seq
        self.led_at = item.end
        if window is not None:
            self._unacked.append((item.seq, item.data_bytes))
            self._in_flight += item.data_bytes
        self._unflushed += len(item.frame)
        if flushed is not None and self._unflushed >= SOCKET_HIGH_WATER_BYTES:
            self._flushing = flushed
            return False
        return True

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
            self.led_at = self.feed.leader
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
