"""A python3 kernel driven like a browser drives it, and the three ways a cell's bytes get out.

The bench talks to the kernel as JupyterLab does: ``POST api/kernels``, then the legacy JSON
protocol on ``api/kernels/<id>/channels`` (no subprotocol), ``execute_request`` on shell,
``stream`` / ``status`` on iopub. Used by :mod:`bench.measure.kernel_print`:

* :func:`print_trial`: the cell waits at the gate, then ``print(block, end="")`` N bytes; timed
  from the gate to the cell's ``idle`` status on the bench's kernel socket; the bytes are those
  of the ``stream`` messages received (the rate limit drops messages; what is dropped is missing).
* :func:`nebula_bench_follows`: the cell calls ``nj.run([...writer...])`` (kernel secret, no
  configuration) and prints the id; the bench follows the run over nebula's WebSocket, as the
  widget would in the browser, timed from the gate to the terminal status.
* :func:`nebula_kernel_follows`: the cell calls ``nj.run`` and iterates ``run.follow()`` in the
  kernel itself, opening the gate after the first event and timing until the terminal status;
  it prints ``{"bytes", "seconds"}`` which the bench reads.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import json
import uuid
from typing import Any

from . import wsclient
from .followers import KernelFollower, StreamFollower
from .peers import Workload, make_gate, open_gate, remove_gate, writer_argv
from .servers import Server

PRINT_CELL = """\
import sys
from bench.writer import block, wait_gate
_b = block().decode()
_n, _r = divmod({size}, len(_b))
wait_gate({gate!r})
for _ in range(_n):
    print(_b, end="")
if _r:
    print(_b[:_r], end="")
sys.stdout.flush()
"""

CREATE_CELL = """\
import nebula_jupyter as nj
_run = nj.run({argv!r}, cwd="")  # the server root: the kernel runs elsewhere
print("RUN-ID:" + _run.id)
"""

FOLLOW_CELL = """\
import errno, json, os, time
import nebula_jupyter as nj
_run = nj.run({argv!r}, cwd="")  # the server root: the kernel runs elsewhere
_bytes, _t0, _status = 0, None, None
for _ev in _run.follow():
    if _t0 is None:
        while True:
            try:
                _fd = os.open({gate!r}, os.O_WRONLY | os.O_NONBLOCK)
                break
            except OSError as _exc:
                if _exc.errno != errno.ENXIO:
                    raise
                time.sleep(0.002)
        _t0 = time.perf_counter()
        os.close(_fd)
    if hasattr(_ev, "data"):
        _bytes += len(_ev.data.encode())
    elif getattr(_ev, "terminal", False):
        _status = _ev.status
_seconds = time.perf_counter() - _t0
print("RESULT:" + json.dumps({{"bytes": _bytes, "seconds": _seconds, "status": _status}}))
"""


@dataclasses.dataclass
class KernelResult:
    path: str
    expected_bytes: int
    bytes: int
    seconds: float
    note: str = ""

    @property
    def rate(self) -> float:
        return self.bytes / self.seconds if self.seconds > 0 else 0.0


class TextCapture(KernelFollower):
    """A kernel follower that also keeps the (small) stdout text of the cell."""

    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []

    def on_message(self, opcode: int, payload: bytes) -> None:
        message = json.loads(payload)
        parent = (message.get("parent_header") or {}).get("msg_id", "")
        if (
            self.msg_id
            and parent == self.msg_id
            and message.get("msg_type") == "stream"
            and message["content"]["name"] == "stdout"
        ):
            self.text.append(message["content"]["text"])
        super().on_message(opcode, payload)


class KernelSession:
    """One python3 kernel on a server and one WebSocket to its channels."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.session = uuid.uuid4().hex
        self.kernel_id = ""
        self.follower = TextCapture()
        self.client: wsclient.WSClient | None = None

    async def start(self) -> KernelSession:
        kernel = await self.server.json("POST", "/api/kernels", {"name": "python3"})
        self.kernel_id = kernel["id"]
        path = (
            f"/api/kernels/{self.kernel_id}/channels?session_id={self.session}"
            f"&token={self.server.token}"
        )
        self.client = await wsclient.connect(
            "127.0.0.1", self.server.port, path, self.follower.on_message
        )
        for _ in range(60):
            reply = self.follower.expect_reply(self._send("kernel_info_request", {}))
            try:
                await asyncio.wait_for(reply, 2)
                return self
            except TimeoutError:
                continue
        raise RuntimeError("kernel never answered kernel_info_request")

    def _send(self, msg_type: str, content: dict[str, Any]) -> str:
        msg_id = uuid.uuid4().hex
        message = {
            "header": {
                "msg_id": msg_id,
                "username": "bench",
                "session": self.session,
                "date": datetime.datetime.now(datetime.UTC).isoformat(),
                "msg_type": msg_type,
                "version": "5.3",
            },
            "parent_header": {},
            "metadata": {},
            "content": content,
            "channel": "shell",
            "buffers": [],
        }
        assert self.client is not None
        self.client.send_text(json.dumps(message))
        return msg_id

    def execute(self, code: str) -> asyncio.Future[float]:
        """Send a cell; the follower counts its stdout; the result resolves at ``idle``."""
        follower = self.follower
        follower.bytes = 0
        follower.messages = 0
        follower.stderr_text = []
        follower.text = []
        follower.done = asyncio.get_running_loop().create_future()
        follower.msg_id = self._send(
            "execute_request",
            {
                "code": code,
                "silent": False,
                "store_history": False,
                "user_expressions": {},
                "allow_stdin": False,
                "stop_on_error": True,
            },
        )
        return follower.done

    async def stop(self) -> None:
        if self.client is not None:
            self.client.close()
        if self.kernel_id:
            await self.server.http("DELETE", f"/api/kernels/{self.kernel_id}")


async def print_trial(kernel: KernelSession, size: int, label: str) -> KernelResult:
    gate = make_gate()
    done = kernel.execute(PRINT_CELL.format(size=size, gate=gate))
    released = await open_gate(gate)
    ended = await asyncio.wait_for(done, 600)
    note = ""
    if any("rate exceeded" in text for text in kernel.follower.stderr_text):
        note = "IOPub data rate exceeded: output dropped"
    elif kernel.follower.stderr_text:
        note = "stderr: " + "".join(kernel.follower.stderr_text)[-200:]
    return KernelResult(label, size, kernel.follower.bytes, ended - released, note)


async def _run_cell(kernel: KernelSession, code: str) -> str:
    await asyncio.wait_for(kernel.execute(code), 120)
    text = "".join(kernel.follower.text)
    if kernel.follower.stderr_text:
        raise RuntimeError("cell failed: " + "".join(kernel.follower.stderr_text)[-2000:])
    return text


async def nebula_bench_follows(kernel: KernelSession, size: int) -> KernelResult:
    gate = make_gate()
    argv = writer_argv(gate, Workload("bulk", bytes=size))
    text = await _run_cell(kernel, CREATE_CELL.format(argv=argv))
    run_id = text.split("RUN-ID:", 1)[1].split()[0]
    server = kernel.server
    follower = StreamFollower()
    path = f"/api/nebula/runs/{run_id}/stream?token={server.token}"
    follower.client = await wsclient.connect("127.0.0.1", server.port, path, follower.on_message)
    released = await open_gate(gate)
    ended = await asyncio.wait_for(follower.done, 600)
    follower.client.close()
    await server.http("DELETE", f"/api/nebula/runs/{run_id}")
    return KernelResult("nebula (bench follows)", size, follower.bytes, ended - released)


async def nebula_kernel_follows(kernel: KernelSession, size: int) -> KernelResult:
    gate = make_gate()
    argv = writer_argv(gate, Workload("bulk", bytes=size))
    try:
        text = await _run_cell(kernel, FOLLOW_CELL.format(argv=argv, gate=gate))
    finally:
        remove_gate(gate)  # opened by the cell
    result = json.loads(text.split("RESULT:", 1)[1].strip().splitlines()[0])
    return KernelResult(
        "nebula (kernel follows)", size, int(result["bytes"]), float(result["seconds"])
    )
