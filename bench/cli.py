"""Command line: run the rows, write ``bench/results/<date>-<mode>.md``."""

from __future__ import annotations

import argparse
import asyncio
import resource
import shutil
import sys
import tempfile
import time
import traceback
from pathlib import Path

from . import report
from .config import FULL, QUICK
from .results_model import RowResult
from .rows import ORDER, ROWS, Context

RESULTS = Path(__file__).resolve().parent / "results"
ROW_TIMEOUT = {"full": 1800.0, "quick": 120.0}


def raise_fd_limit(wanted: int = 65536) -> int:
    """Row 6 holds 1,000+ sockets on each side; servers started later inherit the limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes, few repeats (< 2 min)")
    parser.add_argument("--rows", default="", help="comma-separated row numbers (default: all)")
    parser.add_argument(
        "--profile",
        choices=["missed", "always", "never"],
        default=None,
        help="py-spy the nebula server on rows 1-4 when a target is missed (the full run's "
        "default), always, or never (--quick's default)",
    )
    parser.add_argument("--out", type=Path, default=RESULTS, help="results directory")
    return parser.parse_args(argv)


async def run(args: argparse.Namespace, argv: list[str]) -> Path:
    cfg = QUICK if args.quick else FULL
    wanted = [int(part) for part in args.rows.split(",") if part.strip()] or ORDER
    order = [number for number in ORDER if number in wanted]
    profile = cfg.profile if args.profile is None else args.profile
    rawdir = args.out / "raw"
    rawdir.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="nebula-bench-"))
    ctx = Context(cfg, workdir, rawdir, profile)
    ctx.log(f"{cfg.name} run, rows {order}, fd limit {raise_fd_limit()}, work dir {workdir}")
    started = time.monotonic()
    results: list[RowResult] = []
    try:
        for number in order:
            row_started = time.monotonic()
            ctx.log(f"row {number} ...")
            try:
                row = await asyncio.wait_for(ROWS[number](ctx), ROW_TIMEOUT[cfg.name])
            except Exception as exc:
                row = RowResult(number, f"row {number}", "", error=f"{type(exc).__name__}: {exc}")
                traceback.print_exc()
            row.seconds = time.monotonic() - row_started
            results.append(row)
            verdict = "error" if row.error else ("met" if row.met else "NOT met")
            ctx.log(f"row {number}: {verdict} ({row.seconds:.0f} s)")
    finally:
        await ctx.close()
        shutil.rmtree(workdir, ignore_errors=True)
    results.sort(key=lambda row: row.number)
    return report.write(results, cfg, argv, time.monotonic() - started, args.out, rawdir)


def main() -> None:
    argv = sys.argv[1:]
    args = parse(argv)
    shown = [".venv/bin/python", "-m", "bench", *argv]
    path = asyncio.run(run(args, shown))
    text = path.read_text()
    summary = text.split("## Targets", 1)[1].split("\n## ", 1)[0]
    print(f"\nwrote {path}\n{summary}")
