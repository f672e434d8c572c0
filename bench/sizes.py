"""Units, and the shapes of sizes more than one measurement declares.

Each measuring module declares its own ``FULL`` and ``QUICK`` sizes beside its code; a shape
used by one measurement only is declared in its module too.
"""

from __future__ import annotations

import dataclasses

KiB = 1 << 10
MiB = 1 << 20
MB = 1_000_000  # throughput is in MB/s: 10⁶ bytes of what the process wrote per second


@dataclasses.dataclass(frozen=True)
class Bulk:
    """``bytes`` written as fast as the process can (100-byte lines); ``reps`` repetitions."""

    bytes: int
    reps: int


@dataclasses.dataclass(frozen=True)
class Fanout:
    """``clients`` following one run that writes ``bytes``; ``reps`` repetitions."""

    clients: int
    bytes: int
    reps: int
