"""The process every peer runs: wait at a gate, then write a known workload to stdout.

The gate is a FIFO: opening it for reading blocks until the bench opens it for writing, which
it does only once every client of the trial is connected. So no peer is ever measured on
output written before its clients were there, and process start-up is never timed.

Workloads (all lines are exactly 100 bytes, 99 base64 characters and ``\\n``):

* ``bulk BYTES``: BYTES bytes as fast as possible, in writes of one 65,500-byte block (655
  whole lines) — what a chatty program with a buffered stdout does.
* ``timed LINES INTERVAL``: one line every INTERVAL seconds, on an absolute schedule; each line
  starts with the CLOCK_MONOTONIC time (ns, 20 digits) taken just before its ``write``.
* ``paced BYTES LINES INTERVAL``: BYTES bytes in writes of LINES lines, one write every INTERVAL
  seconds on an absolute schedule (many_runs: a run that prints steadily).

``--sentinel NONCE`` ends the output with a line ``BENCH-DONE-<NONCE>`` (for the terminal peer,
which has no end-of-run message); it is not counted in BYTES.

Stdlib only, and importable without side effects: kernel_print's cell imports :func:`block`.
"""

from __future__ import annotations

import argparse
import base64
import os
import random
import signal
import time
from collections.abc import Iterator

LINE_BYTES = 100
BLOCK_LINES = 655
BLOCK_BYTES = LINE_BYTES * BLOCK_LINES  # 65,500
SEED = 20240501


def block(seed: int = SEED) -> bytes:
    """Return the 65,500-byte block of 100-byte base64 lines every peer writes."""
    rng = random.Random(seed)
    return b"".join(base64.b64encode(rng.randbytes(75))[:99] + b"\n" for _ in range(BLOCK_LINES))


GATE_TIMEOUT_SECONDS = 300


def wait_gate(path: str) -> None:
    """Block until the bench opens the gate FIFO (and closes it).

    A job abandoned before its gate opened (a failed connection, a killed bench) must not
    leave a writer waiting forever: SIGALRM ends it after GATE_TIMEOUT_SECONDS.
    """
    signal.alarm(GATE_TIMEOUT_SECONDS)
    with open(path, "rb") as gate:
        gate.read()
    signal.alarm(0)


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def bulk(total: int) -> None:
    data = block()
    full, rest = divmod(total, len(data))
    for _ in range(full):
        write_all(1, data)
    if rest:
        write_all(1, data[:rest])


def on_schedule(count: int, interval: float) -> Iterator[int]:
    """Yield 0 .. count-1, each at ``index * interval`` s from the start (at once when late)."""
    start = time.monotonic()
    for index in range(count):
        delay = start + index * interval - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        yield index


def timed(lines: int, interval: float) -> None:
    pad = block()[: LINE_BYTES - 22]  # 20 digits + space ... + newline
    for _ in on_schedule(lines, interval):
        stamp = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
        write_all(1, b"%020d " % stamp + pad + b"\n")


def paced(total: int, lines: int, interval: float) -> None:
    piece = block()[: lines * LINE_BYTES]
    writes = -(-total // len(piece))
    for index in on_schedule(writes, interval):
        write_all(1, piece[: total - index * len(piece)])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--gate", required=True)
    parser.add_argument("--sentinel", default="")
    sub = parser.add_subparsers(dest="mode", required=True)
    sub.add_parser("bulk").add_argument("bytes", type=int)
    timed_parser = sub.add_parser("timed")
    timed_parser.add_argument("lines", type=int)
    timed_parser.add_argument("interval", type=float)
    paced_parser = sub.add_parser("paced")
    for name, kind in (("bytes", int), ("lines", int), ("interval", float)):
        paced_parser.add_argument(name, type=kind)
    args = parser.parse_args()
    wait_gate(args.gate)
    if args.mode == "bulk":
        bulk(args.bytes)
    elif args.mode == "paced":
        paced(args.bytes, args.lines, args.interval)
    else:
        timed(args.lines, args.interval)
    if args.sentinel:
        write_all(1, b"BENCH-" + b"DONE-" + args.sentinel.encode() + b"\n")


if __name__ == "__main__":
    main()
