"""The pseudo-terminal of a run in terminal mode (CONTRACT §1.1).

The pty's slave end is the child's stdin and stdout and its controlling terminal, so every
program line-buffers, colours and draws progress bars as in a terminal, and Ctrl-C typed by a
viewer (``\\x03``) interrupts the program through the line discipline, as in a terminal. The
server keeps the master end: it reads the output from it and writes viewers' input to it.
Output processing is off (no ``OPOST``): the stored bytes are exactly what the program wrote,
with no ``\\n`` → ``\\r\\n`` rewriting. stderr stays a separate pipe.

At the end, Linux answers reads of a master whose slave is closed with EIO once the buffered
output has been read; asyncio's pipe transport treats EIO as the end of a pty, so nothing is
lost and nothing hangs.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import pty
import struct
import termios
from collections.abc import Callable

DEFAULT_COLS = 80
DEFAULT_ROWS = 24
MAX_SIZE = 1000
#: Input waiting to be written to the program; beyond it a viewer's input is refused.
INPUT_BUFFER_BYTES = 64 * 1024


class InputFull(Exception):
    """The program does not read its input fast enough; this input was refused, not dropped."""


#: A pty hands output over in pieces of about 4 KiB; gathering them for this long (or up to
#: COALESCE_BYTES) before storing cuts the per-chunk work several-fold, at a latency no one
#: watching a terminal can see.
COALESCE_SECONDS = 0.002
COALESCE_BYTES = 256 * 1024


class _Reader(asyncio.Protocol):
    def __init__(self, on_data: Callable[[bytes], None], on_end: Callable[[], None]) -> None:
        self._on_data = on_data
        self._on_end = on_end
        self._pending: list[bytes] = []
        self._size = 0
        self._timer: asyncio.TimerHandle | None = None

    def data_received(self, data: bytes) -> None:
        self._pending.append(data)
        self._size += len(data)
        if self._size >= COALESCE_BYTES:
            self.flush()
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(COALESCE_SECONDS, self.flush)

    def flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._pending:
            data = b"".join(self._pending)
            self._pending.clear()
            self._size = 0
            self._on_data(data)

    def eof_received(self) -> bool | None:
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        self.flush()
        self._on_end()


class Terminal:
    """One pty: open it before the spawn, attach after, close at the end."""

    def __init__(self, cols: int = DEFAULT_COLS, rows: int = DEFAULT_ROWS) -> None:
        self._master, self._slave = pty.openpty()
        attributes = termios.tcgetattr(self._slave)
        attributes[1] &= ~termios.OPOST
        termios.tcsetattr(self._slave, termios.TCSANOW, attributes)
        self.resize(cols, rows)
        self._reader: asyncio.ReadTransport | None = None
        self._protocol: _Reader | None = None
        self._writer: asyncio.WriteTransport | None = None

    @property
    def child_fd(self) -> int:
        """The slave end, to pass as the child's stdin and stdout."""
        return self._slave

    @staticmethod
    def make_controlling() -> None:
        """Run in the child after ``setsid``: make its stdin (the slave) its controlling tty."""
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    async def attach(self, on_output: Callable[[bytes], None], on_end: Callable[[], None]) -> None:
        """Close our copy of the slave (so the end is seen) and start reading and writing."""
        os.close(self._slave)
        self._slave = -1
        loop = asyncio.get_running_loop()
        reading = os.fdopen(os.dup(self._master), "rb", buffering=0)
        self._reader, self._protocol = await loop.connect_read_pipe(
            lambda: _Reader(on_output, on_end), reading
        )
        writing = os.fdopen(os.dup(self._master), "wb", buffering=0)
        self._writer, _ = await loop.connect_write_pipe(asyncio.Protocol, writing)

    @property
    def reader(self) -> asyncio.ReadTransport | None:
        """The transport reading the master end (to pause and resume reading)."""
        return self._reader

    def flush(self) -> None:
        """Hand over the output gathered so far (before stderr output, to keep seq order)."""
        if self._protocol is not None:
            self._protocol.flush()

    def write(self, data: bytes) -> None:
        """Queue input for the program without blocking; raise :class:`InputFull`."""
        if self._writer is None or self._writer.is_closing():
            raise InputFull("The terminal is closed.")
        if self._writer.get_write_buffer_size() + len(data) > INPUT_BUFFER_BYTES:
            raise InputFull("The program is not reading its input; try again later.")
        self._writer.write(data)

    def resize(self, cols: int, rows: int) -> None:
        """Set the size; the kernel sends SIGWINCH to the terminal's foreground processes."""
        with contextlib.suppress(OSError):
            fcntl.ioctl(self._master, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))

    def close(self) -> None:
        """Release every descriptor (the reader may still deliver what it has read)."""
        if self._writer is not None:
            self._writer.abort()
        if self._reader is not None:
            self._reader.close()
        for fd in (self._master, self._slave):
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._master = self._slave = -1
