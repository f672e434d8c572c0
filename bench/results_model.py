"""What a measurement produces (a results row): measured series and target checks."""

from __future__ import annotations

import dataclasses
import math
import statistics
from typing import Any


def finite(values: list[float]) -> list[float]:
    return [value for value in values if isinstance(value, int | float) and math.isfinite(value)]


def median(values: list[float]) -> float:
    values = finite(values)
    return statistics.median(values) if values else float("nan")


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile (p99 of 2,000 samples is the 1,980th smallest)."""
    values = sorted(finite(values))
    if not values:
        return float("nan")
    rank = max(1, math.ceil(fraction * len(values)))
    return values[rank - 1]


@dataclasses.dataclass
class Series:
    """One metric of one peer over the repetitions."""

    peer: str
    metric: str
    unit: str
    values: list[float]
    fmt: str = "{:.3g}"

    @property
    def median(self) -> float:
        return median(self.values)

    def text(self, value: float) -> str:
        if not math.isfinite(value):
            return "n/a"
        return self.fmt.format(value)

    def summary(self) -> tuple[str, str]:
        values = finite(self.values)
        if not values:
            return "n/a", "n/a"
        return self.text(self.median), f"{self.text(min(values))}-{self.text(max(values))}"


@dataclasses.dataclass
class Check:
    """A target: a per-repetition value (usually a ratio) compared with a threshold.

    Met when the median satisfies it; min-max shows how stable that is on this machine.
    """

    name: str
    values: list[float]
    op: str  # ">=" or "<=" or "=="
    threshold: float
    unit: str = "x"
    fmt: str = "{:.2f}"

    @property
    def median(self) -> float:
        return median(self.values)

    @property
    def met(self) -> bool:
        value = self.median
        if not math.isfinite(value):
            return False
        if self.op == ">=":
            return value >= self.threshold
        if self.op == "<=":
            return value <= self.threshold
        return value == self.threshold

    def measured(self) -> str:
        values = finite(self.values)
        if not values:
            return "n/a"
        unit = self.unit
        mid = self.fmt.format(self.median)
        if len(values) == 1:
            return f"{mid}{unit}"
        return f"{mid}{unit} ({self.fmt.format(min(values))}-{self.fmt.format(max(values))})"

    def target(self) -> str:
        return f"{self.op} {self.fmt.format(self.threshold)}{self.unit}"


def every(name: str, share: float) -> Check:
    """A share that must be 100%: of jobs complete, clients served, bytes delivered."""
    return Check(name, [share], "==", 1.0, unit="", fmt="{:.0%}")


@dataclasses.dataclass
class RowResult:
    number: int
    title: str
    target: str
    series: list[Series] = dataclasses.field(default_factory=list)
    checks: list[Check] = dataclasses.field(default_factory=list)
    notes: list[str] = dataclasses.field(default_factory=list)
    profile: str = ""
    error: str = ""
    seconds: float = 0.0

    @property
    def met(self) -> bool:
        return not self.error and bool(self.checks) and all(check.met for check in self.checks)

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)
