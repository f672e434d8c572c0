"""REST handlers (CONTRACT §2): parse, authorize, call one manager method, serialize."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from jupyter_server.utils import url_path_join
from tornado import web
from tornado.iostream import StreamClosedError

from ..protocol import Stream
from .auth import EXECUTE, READ, WRITE
from .base import NebulaAPIHandler, requires
from .errors import InvalidRequest
from .logs import OutputGone
from .pages import DEFAULT_LIMIT, MAX_LIMIT
from .records import RunRequest


class RunsHandler(NebulaAPIHandler):
    """``api/nebula/runs``: list and create."""

    @web.authenticated
    @requires(READ)
    async def get(self) -> None:
        """List runs newest first, a page at a time: ``?status=``, ``?limit=``, ``?before=``."""
        limit = self.query_int("limit")
        if limit is not None and not 1 <= limit <= MAX_LIMIT:
            raise InvalidRequest(f"'limit' must be between 1 and {MAX_LIMIT}.")
        page = self.manager.list_records(
            self.get_query_argument("status", None),
            limit=limit or DEFAULT_LIMIT,
            before=self.get_query_argument("before", None, strip=False),
        )
        self.write_json(page)

    @web.authenticated
    @requires(EXECUTE)
    async def post(self) -> None:
        """Create a run; starting a process needs the ``execute`` action, not just ``write``."""
        try:
            request = RunRequest.from_json(self.read_json())
        except ValueError as exc:
            raise InvalidRequest(str(exc)) from None
        record = await self.manager.create(request)
        self.set_header("Location", url_path_join(self.base_url, "api/nebula/runs", record["id"]))
        self.write_json(record, status=201)


class RunHandler(NebulaAPIHandler):
    """``api/nebula/runs/{id}``: inspect and delete."""

    @web.authenticated
    @requires(READ)
    async def get(self, run_id: str) -> None:
        """Return one run's record."""
        self.write_json(self.manager.get_record(run_id))

    @web.authenticated
    @requires(WRITE)
    async def delete(self, run_id: str) -> None:
        """Delete a finished run and its output."""
        self.manager.delete(run_id)
        self.set_status(204)
        self.finish()


class CancelHandler(NebulaAPIHandler):
    """``api/nebula/runs/{id}/cancel``."""

    @web.authenticated
    @requires(WRITE)
    async def post(self, run_id: str) -> None:
        """Accept a cancel (202); 409 once the run has ended."""
        self.write_json(self.manager.cancel(run_id), status=202)


class LogsHandler(NebulaAPIHandler):
    """``api/nebula/runs/{id}/logs``: the exact bytes, optionally following until the end."""

    _copy: asyncio.Future[None] | None = None

    @web.authenticated
    @requires(READ)
    async def get(self, run_id: str) -> None:
        """Send the stored output; with ``?follow=1`` keep sending until the run ends."""
        stream_name = self.get_query_argument("stream", None)
        if stream_name not in (None, "stdout", "stderr"):
            raise InvalidRequest("'stream' must be 'stdout' or 'stderr'.")
        stream = None if stream_name is None else Stream[stream_name.upper()]
        follow = self.get_query_argument("follow", "0").lower() in ("1", "true", "yes")
        blocks = self.manager.log_blocks(run_id, stream, follow=follow)
        suffix = f"-{stream_name}" if stream_name else ""
        self.set_header("Content-Type", "application/octet-stream")
        self.set_header("Content-Disposition", f'attachment; filename="{run_id}{suffix}.log"')
        self.set_header("X-Content-Type-Options", "nosniff")
        self._copy = asyncio.ensure_future(self._send_all(blocks, follow))
        await asyncio.wait([self._copy])
        if self._copy.cancelled():
            return  # the client went away
        try:
            self._copy.result()
        except StreamClosedError:
            return
        except OutputGone:
            # Deleted mid-download: end the connection without the last chunk, so the client
            # sees an incomplete response instead of a short log that looks whole.
            self.request.connection.close()  # type: ignore[union-attr]
            self._finished = True
            return
        with contextlib.suppress(StreamClosedError):
            self.finish()

    async def _send_all(self, blocks: AsyncIterator[bytes], follow: bool) -> None:
        if follow:
            # Commit the status line and headers now: a follower must not wait for output
            # (CONTRACT §2 v2), and a quiet run may print nothing for a long time.
            await self.flush()
        async for block in blocks:
            self.write(block)
            await self.flush()  # one block in memory at a time, however large the log

    def on_connection_close(self) -> None:
        """Stop following when the client disconnects."""
        if self._copy is not None:
            self._copy.cancel()
        super().on_connection_close()
