"""The bare Tornado ceiling: the least work any server speaking nebula's stream protocol can do.

pipe → ``os.read(64 KiB)`` → one JSON text frame per chunk,
``{"type": "stdout", "seq": N, "data": ...}``, encoded once and written to every client; at
EOF a ``{"type": "status", "status": "succeeded"}`` frame, then close 1000. ``?binary=1``
gives a client the raw chunks as binary frames instead (browser_render's references). No
storage, no replay, no flow control, no auth beyond one token compare: clients must connect
before the process writes (the bench's gate guarantees it) and a slow client is buffered
without bound.

Run as ``python -m bench.ceiling --port P`` with the token in ``BENCH_TOKEN``. API:
``POST /runs`` ``{"argv": [...]}`` → ``{"id": ...}``; ``GET /runs/<id>/stream?token=`` (WS).
"""

from __future__ import annotations

import argparse
import asyncio
import codecs
import hmac
import itertools
import json
import os
import subprocess
from typing import Any

from tornado import web, websocket

READ_BYTES = 64 * 1024
_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


class CeilingRun:
    """One process: its stdout pipe read into frames for every connected client."""

    def __init__(self, argv: list[str]) -> None:
        self.clients: set[StreamHandler] = set()
        self.done = False
        self._seq = 0
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self.proc = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
        )
        assert self.proc.stdout is not None
        self._fd = self.proc.stdout.fileno()
        os.set_blocking(self._fd, False)
        asyncio.get_running_loop().add_reader(self._fd, self._on_readable)

    def _on_readable(self) -> None:
        try:
            data = os.read(self._fd, READ_BYTES)
        except BlockingIOError:
            return
        if data:
            self._seq += 1
            frame = b""
            for client in list(self.clients):
                if client.binary:
                    client.send(data, binary=True)
                    continue
                if not frame:
                    text = self._decoder.decode(data)
                    frame = _encode({"type": "stdout", "seq": self._seq, "data": text}).encode()
                client.send(frame)
            return
        asyncio.get_running_loop().remove_reader(self._fd)
        os.close(self._fd)
        self.proc.stdout = None
        self.proc.wait()
        self.done = True
        end = _encode({"type": "status", "status": "succeeded"}).encode()
        for client in list(self.clients):
            client.end(end)


class Base(web.RequestHandler):
    def check_token(self) -> None:
        token = self.get_query_argument("token", "")
        header = self.request.headers.get("Authorization", "")
        if header.startswith("token "):
            token = header[6:]
        expected = self.settings["token"]
        if not hmac.compare_digest(token.encode(), expected.encode()):
            raise web.HTTPError(403)


class RunsHandler(Base):
    def post(self) -> None:
        self.check_token()
        body = json.loads(self.request.body)
        run_id = str(next(self.settings["ids"]))
        self.settings["runs"][run_id] = CeilingRun(body["argv"])
        self.set_status(201)
        self.finish({"id": run_id})


class StatusHandler(Base):
    def get(self) -> None:
        self.finish({"ok": True})


class StreamHandler(websocket.WebSocketHandler, Base):
    run: CeilingRun

    async def get(self, *args: Any, **kwargs: Any) -> None:
        self.check_token()
        run = self.settings["runs"].get(args[0])
        if run is None:
            raise web.HTTPError(404)
        self.run = run
        await super().get(*args, **kwargs)

    binary = False

    def check_origin(self, origin: str) -> bool:
        return True  # the token is the credential; browser_render's page may live elsewhere

    def open(self, run_id: str) -> None:
        # ?binary=1: the raw chunk as one binary frame (what an opt-in binary protocol
        # would cost), for browser_render's references; JSON stays the default.
        self.binary = self.get_query_argument("binary", "") == "1"
        self.run.clients.add(self)

    def send(self, frame: bytes, binary: bool = False) -> None:
        try:
            self.write_message(frame, binary=binary)
        except websocket.WebSocketClosedError:
            self.run.clients.discard(self)

    def end(self, frame: bytes) -> None:
        """Send the last frame and close once it is flushed: closing at once would start
        Tornado's 5 s close timeout and abort a client still reading its backlog."""
        try:
            flushed = self.write_message(frame, binary=False)
        except websocket.WebSocketClosedError:
            self.run.clients.discard(self)
            return
        flushed.add_done_callback(lambda _: self.close(1000))

    def on_close(self) -> None:
        self.run.clients.discard(self)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    app = web.Application(
        [
            (r"/runs", RunsHandler),
            (r"/status", StatusHandler),
            (r"/runs/([^/]+)/stream", StreamHandler),
        ],
        token=os.environ["BENCH_TOKEN"],
        runs={},
        ids=itertools.count(1),
        websocket_max_message_size=64 * 1024,
    )

    async def serve() -> None:
        app.listen(args.port, address="127.0.0.1")
        await asyncio.Event().wait()

    asyncio.run(serve())


if __name__ == "__main__":
    main()
