"""A minimal asyncio WebSocket client, the same for every peer.

Why not ``websockets``: the bench must be able to *stop reading* a socket for real (a paused
client, stalled_viewer_memory), hold 1,000 connections in one process (memory_per_viewer) and
spend as little CPU as possible per frame on a 2-core machine, so that the servers, not the
client, are measured.
An :class:`asyncio.Protocol` gives all three: ``pause_reading()`` stops the kernel reads, and a
frame costs one slice of a bytearray. Only what the servers here send is supported: unmasked
text/binary frames (continuations joined), ping (answered), close. No extensions are offered.
"""

from __future__ import annotations

import asyncio
import base64
import os
import struct
from collections.abc import Callable

_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

OnMessage = Callable[[int, bytes], None]


class HandshakeError(RuntimeError):
    """The server refused the upgrade."""


class WSClient(asyncio.Protocol):
    """One WebSocket connection; ``on_message(opcode, payload)`` is called per message."""

    def __init__(self, on_message: OnMessage) -> None:
        self.on_message = on_message
        self.transport: asyncio.Transport | None = None
        self.handshake: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.closed: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._buf = bytearray()
        self._upgraded = False
        self._fragments: list[bytes] = []
        self._fragment_opcode = 0
        self.bytes_received = 0

    # -- asyncio.Protocol -----------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.bytes_received += len(data)
        buf = self._buf
        buf += data
        if not self._upgraded:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(buf[:end]).decode("latin-1")
            del buf[: end + 4]
            status = head.split("\r\n", 1)[0]
            if " 101 " not in status + " ":
                if not self.handshake.done():
                    self.handshake.set_exception(HandshakeError(status))
                self._abort()
                return
            self._upgraded = True
            self.handshake.set_result(None)
        self._parse()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.handshake.done():
            self.handshake.set_exception(exc or HandshakeError("connection lost"))
        if not self.closed.done():
            self.closed.set_result(1006)

    # -- frames ---------------------------------------------------------------------------

    def _parse(self) -> None:
        buf = self._buf
        pos = 0
        size = len(buf)
        while size - pos >= 2:
            b1 = buf[pos]
            length = buf[pos + 1] & 0x7F
            head = 2
            if length == 126:
                if size - pos < 4:
                    break
                length = (buf[pos + 2] << 8) | buf[pos + 3]
                head = 4
            elif length == 127:
                if size - pos < 10:
                    break
                (length,) = struct.unpack_from(">Q", buf, pos + 2)
                head = 10
            end = pos + head + length
            if end > size:
                break
            payload = bytes(buf[pos + head : end])
            pos = end
            self._frame(b1 & 0x80, b1 & 0x0F, payload)
            if self.transport is None:
                return
        if pos:
            del buf[:pos]

    def _frame(self, fin: int, opcode: int, payload: bytes) -> None:
        if opcode == 0x9:  # ping
            self._send(0xA, payload)
        elif opcode == 0x8:  # close
            code = struct.unpack(">H", payload[:2])[0] if len(payload) >= 2 else 1005
            if not self.closed.done():
                self.closed.set_result(code)
            self._send(0x8, payload[:2])
            self._abort()
        elif opcode == 0xA:
            pass
        elif opcode == 0x0:
            self._fragments.append(payload)
            if fin:
                message = b"".join(self._fragments)
                self._fragments = []
                self.on_message(self._fragment_opcode, message)
        elif fin:
            self.on_message(opcode, payload)
        else:
            self._fragment_opcode = opcode
            self._fragments = [payload]

    def _send(self, opcode: int, payload: bytes) -> None:
        if self.transport is None or self.transport.is_closing():
            return
        length = len(payload)
        if length < 126:
            header = struct.pack(">BB", 0x80 | opcode, 0x80 | length)
        elif length < 1 << 16:
            header = struct.pack(">BBH", 0x80 | opcode, 0x80 | 126, length)
        else:
            header = struct.pack(">BBQ", 0x80 | opcode, 0x80 | 127, length)
        mask = os.urandom(4)
        repeated = (mask * (length // 4 + 1))[:length]
        masked = (int.from_bytes(payload, "big") ^ int.from_bytes(repeated, "big")).to_bytes(
            length, "big"
        )
        self.transport.write(header + mask + masked)

    def _abort(self) -> None:
        if self.transport is not None:
            self.transport.close()
            self.transport = None

    # -- public ---------------------------------------------------------------------------

    def send_text(self, text: str) -> None:
        """Send one text frame."""
        self._send(0x1, text.encode("utf-8"))

    def pause(self) -> None:
        """Stop reading from the socket: the server's writes back up into its buffers."""
        if self.transport is not None:
            self.transport.pause_reading()

    def resume(self) -> None:
        """Read again."""
        if self.transport is not None:
            self.transport.resume_reading()

    def close(self) -> None:
        """Send a close frame and drop the connection."""
        self._send(0x8, struct.pack(">H", 1000))
        self._abort()


async def connect(
    host: str,
    port: int,
    path: str,
    on_message: OnMessage,
    *,
    headers: dict[str, str] | None = None,
    timeout: float = 30.0,
) -> WSClient:
    """Open a WebSocket to ``ws://host:port{path}`` and return once upgraded."""
    loop = asyncio.get_running_loop()
    _, client = await loop.create_connection(lambda: WSClient(on_message), host, port)
    key = base64.b64encode(os.urandom(16)).decode()
    lines = [
        f"GET {path} HTTP/1.1",
        f"Host: {host}:{port}",
        "Upgrade: websocket",
        "Connection: Upgrade",
        f"Sec-WebSocket-Key: {key}",
        "Sec-WebSocket-Version: 13",
        *(f"{name}: {value}" for name, value in (headers or {}).items()),
    ]
    assert client.transport is not None
    client.transport.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
    await asyncio.wait_for(client.handshake, timeout)
    return client
