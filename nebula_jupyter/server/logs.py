"""A run's output on disk: append-only stream files and an index of chunks.

Layout of ``runs/<id>/``::

    stdout        the exact bytes the run wrote to stdout
    stderr        the exact bytes the run wrote to stderr
    index         one fixed-size entry per chunk: (offset, length, stream)

Chunk ``seq`` is implicit: entry ``k`` of the index is chunk ``k + 1``. Reads and appends are
plain file I/O on the event loop: they hit the page cache and take microseconds, the same
trade-off Tornado's StaticFileHandler makes; nothing here calls fsync. An append either stores
the whole chunk (data and index entry) or nothing, so what is stored always stays consistent,
even when the disk fills up.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import struct
from collections.abc import Iterator
from pathlib import Path

from ..protocol import Stream


class OutputGone(Exception):
    """The run's output was deleted while it was being read."""


INDEX_ENTRY = struct.Struct("<QIB3x")  # offset in the stream file, length, stream


@dataclasses.dataclass(frozen=True)
class Chunk:
    """One read from one pipe, cut at a UTF-8 character boundary."""

    seq: int
    stream: Stream
    data: bytes


class LogWriter:
    """Append chunks of one run; each append is on disk (page cache) before it returns."""

    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | getattr(os, "O_CLOEXEC", 0)
        self._fds = {
            Stream.STDOUT: os.open(directory / "stdout", flags, 0o600),
            Stream.STDERR: os.open(directory / "stderr", flags, 0o600),
        }
        self._index_fd = os.open(directory / "index", flags, 0o600)
        self.sizes = {stream: os.fstat(fd).st_size for stream, fd in self._fds.items()}
        self.last_seq = os.fstat(self._index_fd).st_size // INDEX_ENTRY.size

    def append(self, stream: Stream, data: bytes) -> int:
        """Store one chunk and return its seq.

        Raises OSError (ENOSPC, EIO, EDQUOT…) having stored nothing of the chunk.
        """
        offset = self.sizes[stream]
        try:
            _write_all(self._fds[stream], data)
            _write_all(self._index_fd, INDEX_ENTRY.pack(offset, len(data), stream))
        except OSError:
            # No partial chunk may stay: readers trust the index, and the byte counts in the
            # record must equal what the logs return.
            with contextlib.suppress(OSError):
                os.ftruncate(self._fds[stream], offset)
                os.ftruncate(self._index_fd, self.last_seq * INDEX_ENTRY.size)
            raise
        self.sizes[stream] = offset + len(data)
        self.last_seq += 1
        return self.last_seq

    def close(self) -> None:
        """Close the files; further appends fail."""
        for fd in (*self._fds.values(), self._index_fd):
            with contextlib.suppress(OSError):
                os.close(fd)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


class LogReader:
    """Random access to a run's stored chunks by seq."""

    def __init__(self, directory: Path) -> None:
        self._directory = directory
        self.run_id = directory.name

    def _path(self, name: str) -> Path:
        return self._directory / name

    def count(self) -> int:
        """Return how many chunks are stored."""
        try:
            return self._path("index").stat().st_size // INDEX_ENTRY.size
        except FileNotFoundError:
            return 0

    def stream_size(self, stream: Stream) -> int:
        """Return the number of bytes stored for one stream."""
        try:
            return self._path(stream.label).stat().st_size
        except FileNotFoundError:
            return 0

    def _entries(self, first_seq: int, last_seq: int) -> list[tuple[int, int, Stream]]:
        if last_seq < first_seq:
            return []
        try:
            with open(self._path("index"), "rb") as index:
                index.seek((first_seq - 1) * INDEX_ENTRY.size)
                raw = index.read((last_seq - first_seq + 1) * INDEX_ENTRY.size)
        except FileNotFoundError:  # the run was deleted while someone was reading it
            return []
        return [
            (offset, length, Stream(stream))
            for offset, length, stream in INDEX_ENTRY.iter_unpack(raw)
        ]

    def read(self, after_seq: int, last_seq: int, max_bytes: int) -> list[Chunk]:
        """Return the chunks after ``after_seq`` up to ``last_seq``, about ``max_bytes`` worth.

        At least one chunk is returned when any is available, however large.
        """
        entries = self._entries(after_seq + 1, min(last_seq, after_seq + 4096))
        chunks: list[Chunk] = []
        total = 0
        files: dict[Stream, int] = {}
        try:
            for seq, (offset, length, stream) in enumerate(entries, start=after_seq + 1):
                if chunks and total + length > max_bytes:
                    break
                fd = files.get(stream)
                if fd is None:
                    try:
                        fd = files[stream] = os.open(self._path(stream.label), os.O_RDONLY)
                    except FileNotFoundError:
                        return []  # deleted between the index read and now: nothing to give

                chunks.append(Chunk(seq, stream, os.pread(fd, length, offset)))
                total += length
        finally:
            for fd in files.values():
                os.close(fd)
        return chunks

    def tail_start(self, last_seq: int, max_bytes: int) -> tuple[int, int]:
        """Return ``(after_seq, skipped_bytes)`` so replay keeps at most ``max_bytes``.

        The newest chunk is always kept, even when it alone is larger.
        """
        kept = 0
        seq = last_seq
        block = 1024
        while seq > 0:
            first = max(1, seq - block + 1)
            entries = self._entries(first, seq)
            for length in reversed([entry[1] for entry in entries]):
                if seq < last_seq and kept + length > max_bytes:
                    total = self.stream_size(Stream.STDOUT) + self.stream_size(Stream.STDERR)
                    return seq, total - kept
                kept += length
                seq -= 1
        return 0, 0

    def bytes_between(self, after_seq: int, last_seq: int) -> int:
        """Return the size of the chunks after ``after_seq`` up to ``last_seq``."""
        total = 0
        block = 4096
        for first in range(after_seq + 1, last_seq + 1, block):
            entries = self._entries(first, min(last_seq, first + block - 1))
            total += sum(entry[1] for entry in entries)
        return total

    def iter_raw(
        self, stream: Stream | None, start: int = 0, block: int = 1 << 20
    ) -> Iterator[tuple[int, bytes]]:
        """Yield ``(position, bytes)`` blocks of the stored output from ``start``.

        With a stream, positions are byte offsets in that stream; without one, they are
        chunk seqs (both streams interleaved in seq order).
        """
        if stream is not None:
            try:
                with open(self._path(stream.label), "rb") as handle:
                    handle.seek(start)
                    while data := handle.read(block):
                        start += len(data)
                        yield start, data
            except FileNotFoundError:
                return
            return
        last = self.count()
        while start < last:
            chunks = self.read(start, last, block)
            if not chunks:
                raise OutputGone(self.run_id)
            start = chunks[-1].seq
            yield start, b"".join(chunk.data for chunk in chunks)
