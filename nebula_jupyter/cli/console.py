"""What the ``nebula`` command prints: raw output streams, status lines, tables, colours."""

from __future__ import annotations

import os
import shlex
import sys
from typing import IO

from ..client import RunRecord

_COLOURS = {"succeeded": "32", "failed": "31", "cancelled": "33", "running": "36", "queued": "2"}


def coloured(text: str, status: str, stream: IO[str]) -> str:
    """Colour ``text`` by run status when ``stream`` is a terminal."""
    code = _COLOURS.get(status)
    # Colour only for a person looking at a terminal; NO_COLOR is the common opt-out.
    if code is None or os.environ.get("NO_COLOR") or not stream.isatty():
        return text
    return f"\033[{code}m{text}\033[0m"


def say(message: str, status: str = "") -> None:
    """Print one of nebula's own status lines on stderr."""
    print(f"nebula: {coloured(message, status, sys.stderr)}", file=sys.stderr, flush=True)


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
            _silence(self.stream)


def _silence(stream: IO[str]) -> None:
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
    return text


def command_text(command: list[str] | str | None) -> str:
    """Render a run's command the way a shell user would type it."""
    if isinstance(command, str):
        return command
    return shlex.join(str(part) for part in command or [])


def status_lines(record: RunRecord, stream: IO[str]) -> list[str]:
    """Return the human-readable lines of `nebula status`."""
    status = str(record["status"])
    rows = [
        ("id", record["id"]),
        ("name", record.get("name")),
        ("status", coloured(status, status, stream)),
        ("command", command_text(record.get("command"))),
        ("cwd", record.get("cwd") or "(server root)"),
        ("exit code", record.get("exit_code")),
        ("signal", record.get("signal")),
        ("reason", record.get("reason")),
        ("error", record.get("error")),
        ("created", record.get("created_at")),
        ("started", record.get("started_at")),
        ("finished", record.get("finished_at")),
        (
            "output",
            f"{record.get('stdout_bytes', 0)} B stdout, {record.get('stderr_bytes', 0)} B stderr",
        ),
    ]
    return [f"{label + ':':<11}{value}" for label, value in rows if value is not None]


def runs_table(records: list[RunRecord], stream: IO[str]) -> list[str]:
    """Return the lines of the `nebula ls` table (header first)."""
    header = ("ID", "NAME", "STATUS", "EXIT", "CREATED", "COMMAND")
    rows = [
        (
            str(r["id"]),
            str(r.get("name") or "-"),
            str(r["status"]),
            _exit_text(r),
            str(r.get("created_at") or "-")[:19].replace("T", " "),
            command_text(r.get("command")),
        )
        for r in records
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header) - 1)]
    lines = []
    for row in [header, *rows]:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        if row is not header:
            # Padding is applied before colouring so escape codes do not skew the columns.
            cells[2] = coloured(cells[2], row[2], stream)
        lines.append("  ".join([*cells, row[-1]]))
    return lines


def _exit_text(record: RunRecord) -> str:
    if record.get("exit_code") is not None:
        return str(record["exit_code"])
    return str(record.get("signal") or "-")


def _sizes(record: RunRecord) -> str:
    return f"{record.get('stdout_bytes', 0)} B stdout, {record.get('stderr_bytes', 0)} B stderr"
