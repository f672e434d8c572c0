"""The markdown results file: machine, versions, command, summary of targets, per-row details."""

from __future__ import annotations

import contextlib
import datetime
import importlib.metadata
import json
import platform
import shlex
import subprocess
import sys
from pathlib import Path

from .results_model import RowResult
from .servers import REPO

PACKAGES = [
    "jupyter_server",
    "tornado",
    "jupyter_server_terminals",
    "terminado",
    "jupyter_client",
    "ipykernel",
    "pyzmq",
    "websockets",
    "psutil",
    "playwright",
    "py-spy",
]


def _run(argv: list[str]) -> str:
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=20).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "n/a"


def machine() -> list[tuple[str, str]]:
    cpu = "n/a"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    chromium = _run(["/usr/bin/chromium", "--version"]).splitlines()
    versions = []
    for name in PACKAGES:
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            versions.append(f"{name} {importlib.metadata.version(name)}")
    xterm = "n/a"
    with contextlib.suppress(OSError, ValueError, KeyError):
        xterm = json.loads((REPO / "js/node_modules/@xterm/xterm/package.json").read_text())[
            "version"
        ]
    commit = _run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"])
    dirty = _run(
        ["git", "-C", str(REPO), "status", "--porcelain", "--", "nebula_jupyter", "js/src"]
    )
    return [
        ("nproc", _run(["nproc"])),
        ("CPU", cpu),
        ("free -h", "<br>".join(_run(["free", "-h"]).splitlines()[:2]).replace("  ", " ")),
        ("kernel", platform.release()),
        ("Python", sys.version.split()[0]),
        ("packages", ", ".join(versions)),
        ("browser", f"{chromium[-1] if chromium else 'n/a'}, xterm.js {xterm}"),
        ("nebula_jupyter", f"commit {commit}" + (" + uncommitted changes" if dirty else "")),
    ]


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _targets(row: RowResult) -> list[str]:
    """The row's lines of the targets table."""
    if row.error:
        return [
            f"| {row.number} | {_cell(row.title)} | — | {_cell(row.target)} | "
            f"error: {_cell(row.error[:300])} | **no** |"
        ]
    return [
        f"| {row.number} | {_cell(row.title)} | {_cell(check.name)} | {check.target()} | "
        f"{check.measured()} | {'yes' if check.met else '**no**'} |"
        for check in row.checks
    ]


def _details(row: RowResult) -> list[str]:
    """The row's section: target, error, series, notes, profile, time taken."""
    lines = ["", f"## Row {row.number}: {row.title}", "", f"Target: {row.target}.", ""]
    if row.error:
        lines += [f"Error: `{row.error}`", ""]
    if row.series:
        lines += ["| peer | metric | median | min-max | n |", "|---|---|---|---|---|"]
        for series in row.series:
            mid, spread = series.summary()
            unit = f" {series.unit}" if series.unit and series.unit != "x" else series.unit
            lines.append(
                f"| {series.peer} | {series.metric} | {mid}{unit} | {spread}{unit} | "
                f"{len(series.values)} |"
            )
        lines.append("")
    lines += [f"- {note}" for note in row.notes]
    if row.profile:
        heading = (
            "Profile of the nebula server during this workload (py-spy):"
            if row.profile.startswith(("raw stacks", "py-spy"))
            else "Profile:"
        )
        lines += ["", heading, "", "```", row.profile, "```"]
    return [*lines, "", f"({row.seconds:.0f} s)"]


def render(rows: list[RowResult], mode: str, argv: list[str], seconds: float) -> str:
    now = datetime.datetime.now(datetime.UTC)
    lines = [
        f"# nebula_jupyter benchmark — {mode} run, {now:%Y-%m-%d %H:%M} UTC",
        "",
        f"Command: `{shlex.join(argv)}` (from the repository root; {seconds:.0f} s wall).",
        "",
        "| machine | |",
        "|---|---|",
    ]
    lines += [f"| {key} | {_cell(value)} |" for key, value in machine()]
    lines += [
        "",
        "Every target is a ratio (or a bound) of numbers measured in the same run: peers are "
        "interleaved per repetition in rotating order, ratios are paired per repetition, and the "
        "verdict uses the median (min-max shows the spread on this shared machine). Throughput "
        "is in MB/s = 10⁶ bytes of what the process wrote per second, from the gate opening to "
        "the client's end-of-run message.",
        "",
        "## Targets",
        "",
        "| # | workload | check | target | measured: median (min-max) | met |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        lines += _targets(row)
    for row in rows:
        lines += _details(row)
    return "\n".join(lines) + "\n"


def write(
    rows: list[RowResult],
    mode: str,
    argv: list[str],
    seconds: float,
    results_dir: Path,
    rawdir: Path,
) -> Path:
    results_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.datetime.now(datetime.UTC)
    path = results_dir / f"{stamp:%Y-%m-%d}-{mode}.md"
    path.write_text(render(rows, mode, argv, seconds))
    raw = rawdir / f"{stamp:%Y-%m-%d-%H%M%S}-{mode}.json"
    raw.write_text(json.dumps([row.to_json() for row in rows], indent=1, default=str))
    return path
