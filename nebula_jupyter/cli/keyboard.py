"""``nebula run -t`` on a terminal: keystrokes and size go to the run, whatever ends it.

The local terminal is put in raw mode, so every key (Ctrl-C included) reaches the program, as
in ``ssh -t`` or ``docker run -it``; output post-processing stays on so the run's ``\\n`` starts
a new line here. Ctrl-] (``telnet``'s escape) cancels the run instead. The terminal's settings
are restored on every way out: normal end, an exception, SIGTERM or SIGHUP.
"""

from __future__ import annotations

import codecs
import contextlib
import os
import signal
import termios
import threading
import tty
from collections.abc import Callable
from types import FrameType, TracebackType
from typing import Any

from ..client.sync import TerminalLink

#: Ctrl-]: cancels the run rather than going to it.
ESCAPE = b"\x1d"


class RawTerminal:
    """A context manager: the local terminal in raw mode, forwarding to a :class:`TerminalLink`."""

    def __init__(self, link: TerminalLink, on_escape: Callable[[], None], fd: int = 0) -> None:
        self.link = link
        self.on_escape = on_escape
        self.fd = fd
        self._saved: list[Any] | None = None
        self._handlers: dict[int, object] = {}

    def __enter__(self) -> RawTerminal:
        self._saved = termios.tcgetattr(self.fd)
        tty.setraw(self.fd)
        attributes = termios.tcgetattr(self.fd)
        attributes[1] |= termios.OPOST
        termios.tcsetattr(self.fd, termios.TCSANOW, attributes)
        if threading.current_thread() is threading.main_thread():
            self._handlers[signal.SIGWINCH] = signal.signal(signal.SIGWINCH, self._resized)
            for signum in (signal.SIGTERM, signal.SIGHUP):
                self._handlers[signum] = signal.signal(signum, _exit)
        threading.Thread(target=self._forward, daemon=True, name="nebula-keys").start()
        return self

    def send_size(self) -> None:
        """Tell the run this terminal's size (call once connected, and on every change)."""
        with contextlib.suppress(OSError):
            size = os.get_terminal_size(self.fd)
            self.link.resize(max(1, min(size.columns, 1000)), max(1, min(size.lines, 1000)))

    def _resized(self, signum: int, frame: FrameType | None) -> None:
        self.send_size()

    def _forward(self) -> None:
        decoder = codecs.getincrementaldecoder("utf-8")("replace")
        while True:
            try:
                data = os.read(self.fd, 4096)
            except OSError:
                return
            if not data:
                return
            if ESCAPE in data:
                self.on_escape()
                data = data.replace(ESCAPE, b"")
            text = decoder.decode(data)
            if text:
                self.link.send_input(text)

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._saved is not None:
            with contextlib.suppress(termios.error):
                termios.tcsetattr(self.fd, termios.TCSADRAIN, self._saved)
        for signum, handler in self._handlers.items():
            signal.signal(signum, handler)  # type: ignore[arg-type]


def _exit(signum: int, frame: FrameType | None) -> None:
    # Leave through the context managers, so the terminal is restored.
    raise SystemExit(128 + signum)
