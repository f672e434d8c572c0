"""Sizes and repetitions: the full run and ``--quick`` (same shapes, smaller, fewer repeats)."""

from __future__ import annotations

import dataclasses

MiB = 1 << 20


@dataclasses.dataclass(frozen=True)
class Config:
    name: str
    # 1: one client, bulk
    row1_bytes: int
    row1_reps: int
    # 2: many clients on one run
    row2_clients: int
    row2_bytes: int
    row2_reps: int
    # 3: latency
    row3_lines: int
    row3_interval: float
    row3_reps: int
    # 4: a paused client
    row4_bytes: int
    row4_pause: float
    row4_reps: int
    # 5: kernel print vs nebula from the kernel
    row5_bytes: int
    row5_reps: int
    # 6: many sockets
    row6_clients: int
    row6_bytes: int
    row6_reps: int
    # 7: browser
    row7_bytes: int
    row7_reps: int
    # py-spy the nebula server on rows 1-4: "missed" (when a target is missed), "always", "never"
    profile: str


FULL = Config(
    name="full",
    row1_bytes=64 * MiB,
    row1_reps=10,
    row2_clients=100,
    row2_bytes=16 * MiB,
    row2_reps=5,
    row3_lines=2000,
    row3_interval=0.01,
    row3_reps=3,
    row4_bytes=200 * MiB,
    row4_pause=20.0,
    row4_reps=5,
    row5_bytes=32 * MiB,
    row5_reps=3,
    row6_clients=1000,
    row6_bytes=1 * MiB,
    row6_reps=3,
    row7_bytes=100_000_000,
    row7_reps=3,
    profile="missed",
)

QUICK = Config(
    name="quick",
    row1_bytes=16 * MiB,
    row1_reps=5,
    row2_clients=100,
    row2_bytes=2 * MiB,
    row2_reps=3,
    row3_lines=200,
    row3_interval=0.01,
    row3_reps=2,
    row4_bytes=32 * MiB,
    row4_pause=3.0,
    row4_reps=1,
    row5_bytes=4 * MiB,
    row5_reps=2,
    row6_clients=1000,
    row6_bytes=64 * 1024,
    row6_reps=1,
    row7_bytes=8_000_000,
    row7_reps=2,
    profile="never",
)
