"""Every measurement of the bench, one module each, in the order a run takes them.

A measuring module declares its sizes beside its code (``FULL`` and ``QUICK``), measures with
the shared runner (:func:`bench.repeat.repeat`) and exports ``MEASUREMENT``. Its ``number`` is
its row in ``bench/results/*.md`` (and a short name for it on the command line).
"""

from __future__ import annotations

from typing import Any

from ..context import Measurement
from . import (
    browser_render,
    history_scale,
    kernel_print,
    line_latency,
    many_runs,
    many_viewers_cpu,
    memory_per_viewer,
    remote_runs,
    stalled_viewer_memory,
    throughput_one_viewer,
    tty_throughput,
)

# Cheap, high-value measurements first.
MEASUREMENTS: list[Measurement[Any]] = [
    stalled_viewer_memory.MEASUREMENT,
    throughput_one_viewer.MEASUREMENT,
    many_viewers_cpu.MEASUREMENT,
    line_latency.MEASUREMENT,
    memory_per_viewer.MEASUREMENT,
    kernel_print.MEASUREMENT,
    browser_render.MEASUREMENT,
    history_scale.MEASUREMENT,
    many_runs.MEASUREMENT,
    tty_throughput.MEASUREMENT,
    remote_runs.MEASUREMENT,
]


def select(spec: str) -> list[Measurement[Any]]:
    """The measurements named in ``spec`` (comma-separated names or row numbers; empty: all),
    in run order."""
    by_key = {key: m for m in MEASUREMENTS for key in (m.name, str(m.number))}
    wanted = [part.strip() for part in spec.split(",") if part.strip()]
    unknown = [part for part in wanted if part not in by_key]
    if unknown:
        known = ", ".join(f"{m.name} ({m.number})" for m in MEASUREMENTS)
        raise ValueError(f"unknown measurement {', '.join(unknown)}; known: {known}")
    chosen = {by_key[part].name for part in wanted}
    return [m for m in MEASUREMENTS if not chosen or m.name in chosen]
