"""What the ``nebula`` command prints: raw output streams, status lines, tables, colours.

Every human-readable line that carries text from the server (names, commands, errors: anyone
who can create a run chooses them) goes through :func:`printable`, so that no control
character reaches the terminal raw: a newline cannot break a table and an escape sequence
cannot recolour, retitle or clear the user's terminal. Only the runs' own output (``nebula
run``, ``nebula logs``) is written as the exact bytes, by design.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import sys
import unicodedata
from typing import IO

from ..client import RunRecord

_COLOURS = {"succeeded": "32", "failed": "31", "cancelled": "33", "running": "36", "queued": "2"}


ELLIPSIS = "…"
FALLBACK_COLUMNS = 120  # the width when stdout is not a terminal and COLUMNS is not set
NAME_CELLS = 24  # the widest the NAME column of `nebula ls` gets

# What a terminal acts on instead of showing, or shows somewhere else: C0 and C1 controls and
# DEL (newlines, tabs, escape sequences), the line and paragraph separators, the bidirectional
# controls (they reorder what follows them), and lone surrogates (not text at all).
_UNSAFE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ud800-\udfff]"
)
_NAMED = {"\n": "\\n", "\t": "\\t", "\r": "\\r"}


def printable(value: object) -> str:
    """Return ``value`` as text for a terminal: control characters become visible escapes.

    A newline shows as ``\\n``, a tab as ``\\t``, ESC as ``\\x1b``, U+202E as ``\\u202e``.
    """
    return _UNSAFE.sub(_escape, str(value))


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    code = ord(char)
    return _NAMED.get(char) or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")


def cells(text: str) -> int:
    """Return how many terminal columns ``text`` (already printable) takes."""
    return sum(_cells(char) for char in text)


def _cells(char: str) -> int:
    if unicodedata.category(char) in ("Mn", "Me", "Cf"):
        return 0  # combining marks and invisible format characters
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def one_line(value: object, width: int) -> str:
    """Return ``value`` printable and cut to ``width`` columns, a cut marked with an ellipsis."""
    text = str(value)
    # Only the start can show, so a megabyte of command costs no more than a short one
    # (an escape is never shorter than its character; wide and zero-width ones are rare).
    head = text[: 4 * width + 8]
    line = printable(head)
    if len(head) == len(text) and cells(line) <= width:
        return line
    kept: list[str] = []
    used = 0
    for char in line:
        used += _cells(char)
        if used > width - 1:
            break
        kept.append(char)
    return "".join(kept) + ELLIPSIS


def terminal_columns() -> int:
    """Return the width to fit lines to: COLUMNS, else the terminal's, else 120."""
    return shutil.get_terminal_size((FALLBACK_COLUMNS, 24)).columns


def coloured(text: str, status: str, stream: IO[str]) -> str:
    """Colour ``text`` by run status when ``stream`` is a terminal."""
    code = _COLOURS.get(status)
    # Colour only for a person looking at a terminal; NO_COLOR is the common opt-out.
    if code is None or os.environ.get("NO_COLOR") or not stream.isatty():
        return text
    return f"\033[{code}m{text}\033[0m"


def say(message: str, status: str = "") -> None:
    """Print one of nebula's own status lines on stderr (server text in it made printable)."""
    text = coloured(printable(message), status, sys.stderr)
    print(f"nebula: {text}", file=sys.stderr, flush=True)


class Output:
    """One of our standard streams, written as raw bytes and flushed per message."""

    def __init__(self, stream: IO[str]) -> None:
        """Write to ``stream``'s binary buffer when it has one."""
        self.stream = stream
        self.closed = False

    def write(self, data: bytes) -> None:
        """Write and flush ``data``; after a broken pipe, drop it silently."""
        if self.closed:
            return
        try:
            binary = getattr(self.stream, "buffer", None)
            if binary is not None:
                binary.write(data)
                binary.flush()
            else:
                self.stream.write(data.decode("utf-8", errors="replace"))
                self.stream.flush()
        except BrokenPipeError:
            # The reader went away (`| head`): keep going quietly, as cat would stop writing.
            self.closed = True
            silence(self.stream)


def silence(stream: IO[str]) -> None:
    """Send ``stream``'s later writes to /dev/null (its reader went away)."""
    # Point the descriptor at /dev/null so the interpreter's final flush cannot fail again.
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stream.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass


def describe_end(record: RunRecord) -> str:
    """Return a one-line account of how a run ended."""
    text = f"run {record['id']} {record['status']}"
    if record.get("exit_code") is not None:
        text += f" (exit code {record['exit_code']})"
    elif record.get("signal"):
        text += f" (signal {record['signal']})"
    if record.get("error"):
        text += f": {record['error']}"
    elif record.get("reason") not in (None, "exited", "signalled", "cancelled"):
        text += f" ({record['reason']})"
    return printable(text)


def command_text(command: list[str] | str | None) -> str:
    """Render a run's command the way a shell user would type it."""
    if isinstance(command, str):
        return command
    return shlex.join(str(part) for part in command or [])


def status_lines(record: RunRecord, stream: IO[str]) -> list[str]:
    """Return the human-readable lines of `nebula status`."""
    status = printable(record["status"])
    rows = [
        ("id", record["id"]),
        ("name", record.get("name")),
        ("status", status),
        ("command", command_text(record.get("command"))),
        ("cwd", record.get("cwd") or "(server root)"),
        ("executor", record.get("executor")),
        ("host", record.get("host")),
        ("exit code", record.get("exit_code")),
        ("signal", record.get("signal")),
        ("reason", record.get("reason")),
        ("error", record.get("error")),
        ("created", record.get("created_at")),
        ("started", record.get("started_at")),
        ("finished", record.get("finished_at")),
        ("output", _sizes(record)),
    ]
    lines = []
    for label, value in rows:
        if value is not None:
            shown = coloured(status, status, stream) if label == "status" else printable(value)
            lines.append(f"{label + ':':<11}{shown}")
    return lines


def runs_table(records: list[RunRecord], stream: IO[str], columns: int | None = None) -> list[str]:
    """Return the lines of the `nebula ls` table (header first): one line per run.

    Each line fits in ``columns`` (default: :func:`terminal_columns`). The COMMAND column,
    last, takes what is left and is cut with an ellipsis; NAME gives up room first.
    """
    width = max(1, terminal_columns() if columns is None else columns)
    header = ("ID", "NAME", "STATUS", "EXIT", "CREATED", "COMMAND")
    rows = [
        (
            one_line(r["id"], 64),
            printable(r.get("name") or "-"),
            printable(r["status"]),
            printable(_exit_text(r)),
            printable(str(r.get("created_at") or "-")[:19].replace("T", " ")),
            command_text(r.get("command")),
        )
        for r in records
    ]
    widths = [min(max(cells(row[i]) for row in [header, *rows]), 64) for i in range(5)]
    # The name column shrinks (to 6, or its widest name) so the command keeps ~24 columns.
    others = sum(widths) - widths[1] + 2 * 5
    widths[1] = max(min(widths[1], NAME_CELLS, width - others - 24), min(widths[1], 6))
    lines = []
    for row in [header, *rows]:
        padded = [_pad(one_line(cell, size), size) for cell, size in zip(row, widths, strict=False)]
        room = width - cells("  ".join([*padded, ""]))
        if room < 2:
            # Too narrow for any of the command: cut the line itself, uncoloured.
            lines.append(one_line("  ".join([*padded, row[-1]]), width))
            continue
        if row is not header:
            # Padding is applied before colouring so escape codes do not skew the columns.
            padded[2] = coloured(padded[2], row[2], stream)
        lines.append("  ".join([*padded, one_line(row[-1], room)]))
    return lines


def _pad(text: str, size: int) -> str:
    return text + " " * (size - cells(text))


def _exit_text(record: RunRecord) -> str:
    if record.get("exit_code") is not None:
        return str(record["exit_code"])
    return str(record.get("signal") or "-")


def _sizes(record: RunRecord) -> str:
    return f"{record.get('stdout_bytes', 0)} B stdout, {record.get('stderr_bytes', 0)} B stderr"
