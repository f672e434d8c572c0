"""Command line: run the measurements, write ``bench/results/<date>-<mode>.md``."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import resource
import shutil
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

from . import report
from .context import PROFILES, Context, Measurement
from .measure import MEASUREMENTS, select
from .results_model import RowResult
from .sizes import KiB, MiB

RESULTS = Path(__file__).resolve().parent / "results"
TIMEOUT = {"full": 1800.0, "quick": 120.0}  # seconds per measurement
PROFILE = {"full": "missed", "quick": "never"}  # the default of --profile


def raise_fd_limit(wanted: int = 65536) -> int:
    """memory_per_viewer holds 1,000+ sockets on each side; servers started later inherit it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes, few repeats (< 2 min)")
    parser.add_argument(
        "--only",
        "--rows",
        default="",
        metavar="NAMES",
        help="comma-separated measurement names or row numbers (default: all; see --list)",
    )
    parser.add_argument(
        "--list", action="store_true", help="list the measurements (in run order) and their sizes"
    )
    parser.add_argument(
        "--profile",
        choices=PROFILES,
        default=None,
        help="py-spy the nebula server (the page, for browser_render) when a target is missed "
        "(the full run's default), always, or never (--quick's default)",
    )
    parser.add_argument("--out", type=Path, default=RESULTS, help="results directory")
    return parser.parse_args(argv)


def describe(size: object) -> str:
    parts = []
    for key, value in dataclasses.asdict(size).items():  # type: ignore[call-overload]
        if key == "bytes" and value % KiB:
            value = f"{value / 1e6:g} MB"
        elif key == "bytes":
            value = f"{value / MiB:g} MiB" if value >= MiB else f"{value / KiB:g} KiB"
        parts.append(f"{key} {value}")
    return ", ".join(parts)


def listing() -> str:
    lines = []
    for m in MEASUREMENTS:
        lines += [
            f"{m.name} (row {m.number}): {m.summary}",
            f"    full: {describe(m.full)}; quick: {describe(m.quick)}",
        ]
    return "\n".join(lines)


async def measure_one(ctx: Context, measurement: Measurement[Any]) -> RowResult:
    """Run one measurement within its time limit; an error is a row of its own, not the end."""
    started = time.monotonic()
    ctx.log(f"{measurement.name} (row {measurement.number}) ...")
    try:
        row = await asyncio.wait_for(measurement(ctx), TIMEOUT[ctx.mode])
    except Exception as exc:
        number, name = measurement.number, measurement.name
        row = RowResult(number, name, "", error=f"{type(exc).__name__}: {exc}")
        traceback.print_exc()
    row.seconds = time.monotonic() - started
    verdict = "error" if row.error else ("met" if row.met else "NOT met")
    ctx.log(f"{measurement.name}: {verdict} ({row.seconds:.0f} s)")
    return row


async def run(args: argparse.Namespace, argv: list[str]) -> Path:
    mode = "quick" if args.quick else "full"
    chosen = select(args.only)
    profile = PROFILE[mode] if args.profile is None else args.profile
    rawdir = args.out / "raw"
    rawdir.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="nebula-bench-"))
    ctx = Context(mode, workdir, rawdir, profile)
    names = ", ".join(m.name for m in chosen)
    ctx.log(f"{mode} run: {names}; fd limit {raise_fd_limit()}, work dir {workdir}")
    started = time.monotonic()
    try:
        results = [await measure_one(ctx, measurement) for measurement in chosen]
    finally:
        await ctx.close()
        shutil.rmtree(workdir, ignore_errors=True)
    results.sort(key=lambda row: row.number)
    return report.write(results, mode, argv, time.monotonic() - started, args.out, rawdir)


def main() -> None:
    argv = sys.argv[1:]
    args = parse(argv)
    if args.list:
        print(listing())
        return
    try:
        select(args.only)
    except ValueError as exc:
        sys.exit(f"python -m bench: {exc}")
    shown = [".venv/bin/python", "-m", "bench", *argv]
    path = asyncio.run(run(args, shown))
    text = path.read_text()
    summary = text.split("## Targets", 1)[1].split("\n## ", 1)[0]
    print(f"\nwrote {path}\n{summary}")
