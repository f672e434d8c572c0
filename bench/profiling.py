"""py-spy around a workload on a server process, summarised as text for the results file."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import shutil
import signal
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path


def py_spy() -> str | None:
    candidate = Path(sys.executable).parent / "py-spy"
    return str(candidate) if candidate.exists() else shutil.which("py-spy")


async def record(
    pid: int,
    out: Path,
    workload: Callable[[], Awaitable[object]],
    rate: int = 250,
    gil: bool = False,
) -> Path | None:
    """Sample ``pid`` while ``workload`` runs; write py-spy's raw (collapsed) stacks to ``out``.

    The collapsed format is what :func:`summarize` reads, and what flamegraph.pl or
    speedscope.app turn into a flame graph. ``--nonblocking``: the server is never paused.
    ``gil``: only the samples in which the server holds the GIL (its Python work; time in
    system calls that release the GIL is not counted).
    """
    exe = py_spy()
    if exe is None:
        return None
    proc = subprocess.Popen(
        [
            exe,
            "record",
            "--format",
            "raw",
            "--nonblocking",
            *(["--gil"] if gil else []),
            "-r",
            str(rate),
            "--pid",
            str(pid),
            "-o",
            str(out),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    await asyncio.sleep(1.0)  # py-spy attaches
    if proc.poll() is not None:
        err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
        raise RuntimeError(f"py-spy failed: {err[-500:]}")
    try:
        await workload()
    finally:
        proc.send_signal(signal.SIGINT)
        for _ in range(200):
            if proc.poll() is not None:
                break
            await asyncio.sleep(0.05)
        if proc.poll() is None:
            proc.kill()
        with contextlib.suppress(Exception):
            proc.wait(5)
    return out if out.exists() else None


def summarize(path: Path, top: int = 14) -> str:
    """Self and inclusive time per frame (percent of samples), as a markdown code block."""
    self_time: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        samples = int(count)
        total += samples
        frames = [
            frame.replace(".venv/lib/python3.11/site-packages/", "") for frame in stack.split(";")
        ]
        self_time[frames[-1]] += samples
        for frame in set(frames):
            inclusive[frame] += samples
    if not total:
        return "(no samples)"
    out = [f"{total} samples (active time only)", "", "self time:"]
    out += [f"  {n / total:6.1%}  {frame}" for frame, n in self_time.most_common(top)]
    out += ["", "inclusive time (nebula_jupyter, tornado and json frames):"]
    interesting = [
        (frame, n)
        for frame, n in inclusive.most_common()
        if any(key in frame for key in ("nebula_jupyter", "tornado/websocket", "iostream", "json/"))
    ]
    out += [f"  {n / total:6.1%}  {frame}" for frame, n in interesting[:top]]
    return "\n".join(out)
