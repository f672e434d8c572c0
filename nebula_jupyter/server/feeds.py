"""Feeds of the runs this server does not run: finished ones, and other servers' active ones.

A run this server runs has a live :class:`OutputFeed` fed by its process. Any other run is
served from storage: a finished run's feed holds its stored output and terminal status; an
active run of another server that shares the data dir is polled every
:data:`POLL_SECONDS` (CONTRACT §1.2: "followed from storage, at most 0.5 s behind"). Feeds are
shared while someone holds them (a weak map), so a delete reaches every viewer.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import weakref

from ..protocol import Stream
from .fanout import OutputFeed
from .logs import LogReader
from .records import StoredRun
from .storage import Storage

log = logging.getLogger(__name__)

POLL_SECONDS = 0.25


def with_stored_counts(run: StoredRun, reader: LogReader) -> StoredRun:
    """Fill a record's byte counts and last seq from its files (their owner may be elsewhere).

    Returns ``run`` itself, updated: the files are the truth while another process appends.
    """
    run.stdout_bytes = reader.stream_size(Stream.STDOUT)
    run.stderr_bytes = reader.stream_size(Stream.STDERR)
    run.last_seq = reader.count()
    return run


class StoredFeeds:
    """Give a feed for any stored run; poll the active runs of other servers."""

    def __init__(self, storage: Storage) -> None:
        self._storage = storage
        self._feeds: weakref.WeakValueDictionary[str, OutputFeed] = weakref.WeakValueDictionary()
        self._polls: dict[str, asyncio.Task[None]] = {}

    def feed(self, run: StoredRun) -> OutputFeed:
        """Return the shared feed of a run that is not running here."""
        feed = self._feeds.get(run.id)
        if feed is not None:
            return feed
        reader = self._storage.reader(run.id)
        feed = OutputFeed(reader, last_seq=reader.count())
        feed.publish_status(with_stored_counts(run, reader))
        self._feeds[run.id] = feed
        if not run.status.terminal and run.id not in self._polls:
            task = asyncio.get_running_loop().create_task(self._poll(run, feed))
            self._polls[run.id] = task
            task.add_done_callback(lambda _: self._polls.pop(run.id, None))
        return feed

    def adopt(self, run_id: str, feed: OutputFeed) -> None:
        """Share the feed of a run that just ended here with later viewers, and deletes."""
        self._feeds[run_id] = feed

    def deleted(self, run_id: str) -> None:
        """Tell the viewers of a run that it was deleted."""
        feed = self._feeds.pop(run_id, None)
        if feed is not None:
            feed.mark_deleted()

    async def _poll(self, run: StoredRun, feed: OutputFeed) -> None:
        # The owner stores output before it stores a status, so reading the record first and
        # the index second never announces a status before the output it follows.
        seen = (run.status, run.cancel_requested)
        while not feed.ended:
            await asyncio.sleep(POLL_SECONDS)
            try:
                current = self._storage.records.get(run.id)
            except sqlite3.Error:  # a busy or full database: try again at the next poll
                log.debug("Could not read run %s", run.id, exc_info=True)
                continue
            if current is None:
                feed.mark_deleted()
                return
            feed.advance(feed.reader.count())
            if (current.status, current.cancel_requested) != seen:
                seen = (current.status, current.cancel_requested)
                feed.publish_status(with_stored_counts(current, feed.reader))

    def close(self) -> None:
        """Stop polling (server shutdown)."""
        for task in list(self._polls.values()):
            task.cancel()
