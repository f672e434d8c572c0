"""The shared ring of one run's encoded output frames (see ``fanout.py`` for who keeps what).

Frames of consecutive seqs, oldest first, found by seq in O(1); dropping the oldest frames
is O(1) amortized and releases their memory at once.
"""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class RingFrame:
    """One chunk's encoded output frame, and where it ends in the stream."""

    seq: int
    data_bytes: int
    frame: bytes
    end: int  # the feed's published_bytes once this frame was added: a position in the stream


class FrameRing:
    """Encoded frames of consecutive seqs, oldest first, found by seq in O(1)."""

    def __init__(self) -> None:
        # Slots before _start are dropped frames, set to None so that their memory goes at once;
        # the list is compacted now and then, so dropping stays O(1) amortized.
        self._frames: list[RingFrame | None] = []
        self._start = 0
        self._first_seq = 0  # seq of _frames[_start], when the ring is not empty
        self.bytes = 0  # of the kept frames' encodings

    def __len__(self) -> int:
        return len(self._frames) - self._start

    @property
    def first_seq(self) -> int:
        """Return the seq of the oldest kept frame (the ring must not be empty)."""
        return self._first_seq

    @property
    def last_seq(self) -> int:
        """Return the seq of the newest frame (the ring must not be empty)."""
        return self._first_seq + len(self._frames) - self._start - 1

    def get(self, seq: int) -> RingFrame | None:
        """Return the frame of chunk ``seq`` if it is kept."""
        index = seq - self._first_seq
        if index < 0 or index >= len(self._frames) - self._start:
            return None
        return self._frames[self._start + index]

    def append(self, item: RingFrame) -> None:
        """Add the frame of the chunk after the newest one (or of any chunk, when empty)."""
        if len(self._frames) == self._start:
            self.clear()
            self._first_seq = item.seq
        self._frames.append(item)
        self.bytes += len(item.frame)

    def drop_oldest(self) -> None:
        """Forget the oldest kept frame (the ring must not be empty)."""
        self.drop_through(self._first_seq)

    def drop_through(self, seq: int) -> None:
        """Forget every frame up to chunk ``seq``."""
        count = min(seq - self._first_seq + 1, len(self._frames) - self._start)
        if count <= 0:
            return
        frames = self._frames
        for index in range(self._start, self._start + count):
            dropped = frames[index]
            assert dropped is not None
            self.bytes -= len(dropped.frame)
            frames[index] = None
        self._start += count
        self._first_seq += count
        if self._start == len(frames):
            self.clear()
        elif self._start >= 64 and 2 * self._start >= len(frames):
            del frames[: self._start]
            self._start = 0

    def clear(self) -> None:
        """Forget every frame."""
        self._frames.clear()
        self._start = 0
        self.bytes = 0
