"""Storage: append-only logs with a seq index, records in SQLite."""

from __future__ import annotations

from pathlib import Path

from nebula_jupyter.protocol import RunStatus, Stream
from nebula_jupyter.server.logs import LogReader, LogWriter
from nebula_jupyter.server.records import StoredRun
from nebula_jupyter.server.storage import Storage


def fill(directory: Path, pieces: list[tuple[Stream, bytes]]) -> LogReader:
    writer = LogWriter(directory)
    for stream, data in pieces:
        writer.append(stream, data)
    writer.close()
    return LogReader(directory)


PIECES = [
    (Stream.STDOUT, b"a" * 10),
    (Stream.STDERR, b"E" * 5),
    (Stream.STDOUT, b"b" * 20),
    (Stream.STDOUT, b"c" * 30),
    (Stream.STDERR, b"\xff\x00"),
]


def test_append_assigns_consecutive_seqs_and_reads_back(tmp_path: Path) -> None:
    writer = LogWriter(tmp_path)
    assert [writer.append(stream, data) for stream, data in PIECES] == [1, 2, 3, 4, 5]
    writer.close()
    reader = LogReader(tmp_path)
    assert reader.count() == 5
    chunks = reader.read(0, 5, 1 << 20)
    assert [(c.seq, c.stream, c.data) for c in chunks] == [
        (i + 1, stream, data) for i, (stream, data) in enumerate(PIECES)
    ]
    assert [c.seq for c in reader.read(2, 4, 1 << 20)] == [3, 4]


def test_read_respects_budget_but_returns_at_least_one(tmp_path: Path) -> None:
    reader = fill(tmp_path, PIECES)
    assert [c.seq for c in reader.read(0, 5, 1)] == [1]
    assert [c.seq for c in reader.read(0, 5, 15)] == [1, 2]


def test_reopened_writer_continues_the_sequence(tmp_path: Path) -> None:
    fill(tmp_path, PIECES[:2])
    writer = LogWriter(tmp_path)
    assert writer.append(Stream.STDOUT, b"more") == 3
    writer.close()
    assert LogReader(tmp_path).stream_size(Stream.STDOUT) == 14


def test_tail_start_keeps_whole_chunks_within_budget(tmp_path: Path) -> None:
    reader = fill(tmp_path, PIECES)
    total = sum(len(data) for _, data in PIECES)
    assert reader.tail_start(5, 10_000) == (0, 0)
    after, skipped = reader.tail_start(5, 32)  # keeps chunks 4 (30) + 5 (2)
    assert after == 3 and skipped == total - 32
    assert reader.tail_start(5, 1) == (4, total - 2)  # the newest chunk always stays
    assert reader.bytes_between(0, 3) == 35
    assert reader.bytes_between(3, 5) == 32


def test_iter_raw_per_stream_and_interleaved(tmp_path: Path) -> None:
    reader = fill(tmp_path, PIECES)
    stdout = b"".join(block for _, block in reader.iter_raw(Stream.STDOUT, block=7))
    assert stdout == b"a" * 10 + b"b" * 20 + b"c" * 30
    both = b"".join(block for _, block in reader.iter_raw(None, block=12))
    assert both == b"".join(data for _, data in PIECES)
    positions = [position for position, _ in reader.iter_raw(None, block=12)]
    assert positions[-1] == 5


def test_missing_logs_read_as_empty(tmp_path: Path) -> None:
    reader = LogReader(tmp_path / "nope")
    assert reader.count() == 0
    assert list(reader.iter_raw(Stream.STDOUT)) == []


def test_records_round_trip_in_insertion_order(tmp_path: Path) -> None:
    storage = Storage(tmp_path)
    first = StoredRun(id="a1", command=["echo", "x"], name="first")
    second = StoredRun(id="b2", command="echo y")
    storage.records.insert(first, "owner")
    storage.records.insert(second, "owner")
    first.move_to(RunStatus.RUNNING)
    first.move_to(RunStatus.SUCCEEDED)
    first.exit_code = 0
    storage.records.update(first)
    storage.close()
    again = Storage(tmp_path)
    newest_first = [run for _, run in again.records.page(status=None, before=None, limit=10)]
    assert newest_first == [second, first]
    again.delete("a1")
    assert [run.id for _, run in again.records.page(status=None, before=None, limit=10)] == ["b2"]


def test_the_data_dir_and_database_are_private(tmp_path: Path) -> None:
    storage = Storage(tmp_path / "data")
    storage.records.insert(StoredRun(id="a1", command=["true"]), "owner")
    assert (tmp_path / "data").stat().st_mode & 0o777 == 0o700
    for name in ("runs.sqlite3", "runs.sqlite3-wal"):
        assert (tmp_path / "data" / name).stat().st_mode & 0o077 == 0, name
    storage.close()
