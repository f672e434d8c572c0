"""Clients that follow one job's output: count the bytes the process wrote, note when it ended.

Counting is of the *process's* bytes, not of frames: for nebula and the ceiling the ``data`` of
output messages (the workload is ASCII, so characters are bytes); for a terminal the text with
the pty's added ``\\r`` removed, between the gate and the sentinel line; for a kernel the
``text`` of ``stream`` messages answering our cell.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from . import wsclient

TERMINAL_STATUSES = frozenset({"succeeded", "failed", "cancelled"})
SENTINEL_PREFIX = "BENCH-" + "DONE-"


def now() -> float:
    return time.perf_counter()


class Follower:
    """Base: byte count, end time, optional per-line latencies (``timed`` workloads)."""

    def __init__(self, *, latency: bool = False) -> None:
        self.bytes = 0
        self.messages = 0
        self.done: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self.latency = latency
        self.latencies_ns: list[int] = []
        self._carry = ""
        self.client: wsclient.WSClient | None = None
        self.end_status = ""

    def on_message(self, opcode: int, payload: bytes) -> None:
        raise NotImplementedError

    def _finish(self, status: str) -> None:
        if not self.done.done():
            self.end_status = status
            self.done.set_result(now())

    def lost(self) -> None:
        """The connection closed; a no-op if the run's end was already seen."""
        self._finish("connection closed")

    def _lines(self, text: str) -> None:
        """Latency of each complete line, at the moment its end arrived."""
        arrived = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
        text = self._carry + text
        lines = text.split("\n")
        self._carry = lines.pop()
        for line in lines:
            stamp = line.lstrip("\r")[:20]
            if len(stamp) == 20 and stamp.isdigit():
                self.latencies_ns.append(arrived - int(stamp))

    def mark_gate(self) -> None:
        """Called when the gate opens (only the terminal needs it: it ignores earlier echo)."""


class StreamFollower(Follower):
    """nebula's stream protocol (and the ceiling's, which is the same)."""

    def on_message(self, opcode: int, payload: bytes) -> None:
        message = json.loads(payload)
        kind = message["type"]
        if kind == "stdout" or kind == "stderr":
            data = message["data"]
            self.bytes += len(data) if data.isascii() else len(data.encode())
            self.messages += 1
            if self.latency:
                self._lines(data)
        elif kind == "status" and message["status"] in TERMINAL_STATUSES:
            self._finish(message["status"])


class TerminalFollower(Follower):
    """terminado: ``["stdout", text]``; the run ends with the sentinel line."""

    def __init__(self, nonce: str, **kwargs: bool) -> None:
        super().__init__(**kwargs)
        self.sentinel = SENTINEL_PREFIX + nonce
        self.echoed = asyncio.get_running_loop().create_future()
        self.nonce = nonce
        self._counting = False
        self._tail = ""

    def mark_gate(self) -> None:
        self._counting = True
        self._tail = ""

    def on_message(self, opcode: int, payload: bytes) -> None:
        message = json.loads(payload)
        if message[0] != "stdout":
            return
        text: str = message[1]
        if not self._counting:
            self._tail = (self._tail + text)[-4096:]
            marker = self._tail.find(f"#{self.nonce}-typed")
            if marker >= 0 and "\n" in self._tail[marker:] and not self.echoed.done():
                self.echoed.set_result(None)
            return
        if self.done.done():
            return
        self.messages += 1
        self.bytes += len(text) - text.count("\r")
        if self.latency:
            self._lines(text)
        window = self._tail[-80:] + text
        if self.sentinel in window:
            # Not the process's workload: the sentinel, its newline and the next prompt.
            after = window[window.index(self.sentinel) + len(self.sentinel) :]
            self.bytes -= len(self.sentinel) + len(after) - after.count("\r")
            self._finish("sentinel")
        self._tail = window[-80:]


class KernelFollower(Follower):
    """A kernel's WebSocket (legacy JSON protocol): stream output of our cell, then idle."""

    def __init__(self) -> None:
        super().__init__()
        self.msg_id = ""
        self.stderr_text: list[str] = []
        self.replies: dict[str, asyncio.Future[dict[str, Any]]] = {}

    def expect_reply(self, msg_id: str) -> asyncio.Future[dict[str, Any]]:
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.replies[msg_id] = future
        return future

    def on_message(self, opcode: int, payload: bytes) -> None:
        message = json.loads(payload)
        parent = (message.get("parent_header") or {}).get("msg_id", "")
        kind = message.get("msg_type") or message["header"]["msg_type"]
        if message.get("channel") == "shell" and parent in self.replies:
            future = self.replies.pop(parent)
            if not future.done():
                future.set_result(message)
            return
        if parent != self.msg_id or not self.msg_id:
            return
        if kind == "stream":
            content = message["content"]
            if content["name"] == "stdout":
                self.bytes += len(content["text"])
                self.messages += 1
            else:
                self.stderr_text.append(content["text"])
        elif kind == "status" and message["content"]["execution_state"] == "idle":
            self._finish("idle")
        elif kind == "error":
            self.stderr_text.append("\n".join(message["content"].get("traceback", [])))
