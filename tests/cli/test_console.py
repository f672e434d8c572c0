"""What the `nebula` command prints about runs: one line per run, no raw control characters."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest

from nebula_jupyter.cli.console import describe_end, runs_table, status_lines

# Anything a terminal would act on instead of showing: C0 and C1 controls, DEL, line and
# paragraph separators, bidirectional overrides, lone surrogates.
RAW_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")

NASTY_COMMAND = "echo one\n\techo two\x1b[31m red\x1b[0m\r\x07\x9b2J\u202eevil\x00\ud800"
NASTY_NAME = "multi\nline\tname\x1b]0;title\x07"
LONG_COMMAND = ["python", "-c", "print(1)", *(f"--option-{i}=value" for i in range(60))]


def record(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": "0123456789abcdef",
        "name": None,
        "command": ["true"],
        "cwd": "",
        "status": "succeeded",
        "exit_code": 0,
        "signal": None,
        "reason": "exited",
        "error": None,
        "created_at": "2026-01-02T03:04:05.678Z",
        "started_at": None,
        "finished_at": None,
        "stdout_bytes": 0,
        "stderr_bytes": 0,
        "last_seq": 0,
    }
    return {**base, **fields}


RECORDS = [
    record(id="a" * 16, name=NASTY_NAME, command=NASTY_COMMAND, status="running", exit_code=None),
    record(id="b" * 16, command=LONG_COMMAND),
    record(id="c" * 16, name="x" * 200, command=["sh", "-c", "echo 'tab\there'"]),
    record(id="d" * 16, command=["printf", "a\nb"], error="spawn:\x1b[2Jfailed\nbadly"),
]


@pytest.mark.parametrize("columns", [120, 80, 60, 30])
def test_ls_is_one_clean_line_per_run_cut_to_the_width(
    columns: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", str(columns))
    lines = runs_table(RECORDS, io.StringIO())
    assert len(lines) == 1 + len(RECORDS)
    for line in lines:
        assert "\n" not in line and not RAW_CONTROL.search(line), repr(line)
        assert len(line) <= columns, (len(line), line)
    # The run's id stays whole; long names and commands are cut, and a cut is marked.
    assert [line[:16] for line in lines[1:]] == [run["id"] for run in RECORDS]
    assert lines[1].endswith("…") and lines[2].endswith("…")
    assert ("x" * 23 if columns >= 120 else "x") + "…" in lines[3] or columns < 60
    assert r"echo one\n\techo two\x1b[31m" in lines[1] or columns < 120


def test_ls_without_a_terminal_or_columns_is_cut_at_120(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    lines = runs_table(RECORDS, io.StringIO())
    assert max(len(line) for line in lines) == 120
    short = runs_table([record()], io.StringIO())
    assert short[1].split()[-1] == "true" and "…" not in short[1]  # nothing to cut


def test_ls_cuts_wide_characters_by_their_cells(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "50")
    wide = record(command="echo " + "漢字" * 40)
    line = runs_table([wide], io.StringIO())[1]
    cells = sum(2 if "\u4e00" <= ch <= "\u9fff" else 1 for ch in line)
    assert cells <= 50 and line.endswith("…")


def test_status_and_end_lines_show_controls_visibly() -> None:
    nasty = record(
        name=NASTY_NAME,
        command=NASTY_COMMAND,
        cwd="dir\nwith\x1b[1mescape",
        status="failed",
        exit_code=None,
        signal="SIG\x1bKILL",
        reason="spawn_error",
        error="cannot start '/x\x1b[2J':\nNo such file",
        executor="dask",
        host="gpu-node\x1b[2J7",
    )
    lines = status_lines(nasty, io.StringIO())
    assert [line.split(":")[0] for line in lines] == [
        "id", "name", "status", "command", "cwd", "executor", "host", "signal", "reason", "error",
        "created", "output",
    ]  # fmt: skip
    assert "host:      gpu-node\\x1b[2J7" in lines
    for line in lines:
        assert not RAW_CONTROL.search(line), repr(line)
    text = "\n".join(lines)
    assert r"multi\nline\tname\x1b]0;title\x07" in text
    assert r"echo one\n\techo two\x1b[31m red\x1b[0m\r\x07\x9b2J\u202eevil\x00\ud800" in text
    end = describe_end(nasty)
    assert not RAW_CONTROL.search(end) and r"cannot start '/x\x1b[2J':\nNo such file" in end
