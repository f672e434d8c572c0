"""Kernel print: a notebook cell printing bulk output versus the same output as a nebula run.

Row 5 of the results. The cell prints through jupyter_server's kernel WebSocket with its
default rate limit and with none; nebula runs the same bytes started from the kernel with
``nj.run()``, followed by the bench (as the widget would) or by the kernel itself
(``run.follow()``). The drivers are in :mod:`bench.kernel_session`. Target: nebula delivers
every byte at ≥ 5x the unlimited kernel print's rate.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable

from ..context import Context, Measurement
from ..kernel_session import (
    KernelResult,
    KernelSession,
    nebula_bench_follows,
    nebula_kernel_follows,
    print_trial,
)
from ..repeat import Metric, Metrics, repeat
from ..results_model import RowResult, every
from ..servers import kernel_server
from ..sizes import MB, Bulk, MiB

FULL = Bulk(bytes=32 * MiB, reps=3)
QUICK = Bulk(bytes=4 * MiB, reps=2)
NEBULA_PATHS = ["nebula (bench follows)", "nebula (kernel follows)"]
UNLIMITED = "print unlimited"
PATHS = ["print default", UNLIMITED, *NEBULA_PATHS]
METRICS = [
    Metric("rate", "rate of delivered bytes", "MB/s", "{:.1f}"),
    Metric("share", "bytes delivered", "", "{:.1%}"),
]
NOTE = (
    "'default' is jupyter_server 2.21's default: ZMQChannelsWebsocketConnection.limit_rate="
    "True with iopub_data_rate_limit=1,000,000 B/s and iopub_msg_rate_limit=1,000 msg/s over "
    "rate_limit_window=3 s; over the limit the server drops stream messages (it does not "
    "delay them). 'unlimited' sets limit_rate=False. The cell prints 65,500-character "
    "blocks of lines with print(block, end=''); nebula runs bench/writer.py writing the "
    "same blocks. 'bench follows': the cell calls nj.run() and the bench reads the run's "
    "WebSocket as the widget would; 'kernel follows': the cell iterates run.follow() in "
    "the kernel and times itself."
)


async def start_kernel(
    ctx: Context, stack: contextlib.AsyncExitStack, *, limit_rate: bool
) -> KernelSession:
    """A kernel on a server of its own (which also serves nebula), stopped with ``stack``."""
    server = await kernel_server(ctx.workdir, limit_rate=limit_rate).start()
    stack.push_async_callback(server.stop)
    session = await KernelSession(server).start()
    stack.push_async_callback(session.stop)
    return session


async def measure(ctx: Context, size: Bulk) -> RowResult:
    total = size.bytes - size.bytes % 100
    row = ctx.row(
        f"a notebook printing {size.bytes // MiB} MiB vs the same output as a nebula run "
        "started from the kernel's API",
        "nebula delivers 100% of the bytes at ≥ 5x the unlimited kernel path's rate",
    )
    notes: set[str] = set()
    async with contextlib.AsyncExitStack() as stack:
        default = await start_kernel(ctx, stack, limit_rate=True)
        unlimited = await start_kernel(ctx, stack, limit_rate=False)
        # The unlimited kernel's server is also the nebula server of the nebula paths.
        paths: dict[str, Callable[[], Awaitable[KernelResult]]] = {
            "print default": lambda: print_trial(default, total, "print default"),
            UNLIMITED: lambda: print_trial(unlimited, total, UNLIMITED),
            "nebula (bench follows)": lambda: nebula_bench_follows(unlimited, total),
            "nebula (kernel follows)": lambda: nebula_kernel_follows(unlimited, total),
        }

        async def trial(path: str, rep: int) -> Metrics:
            result = await paths[path]()
            if result.note:
                notes.add(f"{path}: {result.note}")
            return {"rate": result.rate / MB, "share": result.bytes / total}

        samples = await repeat(ctx, size.reps, PATHS, trial, "{rate:.1f} MB/s")
        for path in NEBULA_PATHS:
            row.checks += [
                samples.paired(f"{path} / print unlimited, rate", "rate", path, UNLIMITED, ">=", 5),
                every(f"{path}: bytes delivered", min(samples.of(path, "share"))),
            ]

        async def again() -> None:
            for _ in range(3):
                await nebula_bench_follows(unlimited, total)

        await ctx.profile_nebula(row, unlimited.server, again)
    row.series = samples.series(*METRICS)
    row.notes += [*sorted(notes), NOTE]
    return row


MEASUREMENT = Measurement(5, __name__, FULL, QUICK, measure)
