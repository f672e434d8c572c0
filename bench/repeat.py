"""The repetition runner every measurement uses: no measurement has a loop of its own.

:func:`repeat` runs a measurement's trial ``reps`` times for each of its peers (or paths). Within
a repetition every peer runs once, in an order rotated per repetition, so drift on a shared
machine hits every peer alike. A trial returns its metrics by name; :class:`Samples` keeps them
per peer in repetition order, so the i-th values of two peers come from the same repetition and
their ratio is *paired* (:meth:`Samples.ratio`). Medians and min-max over the repetitions are
taken by :class:`~bench.results_model.Series` and :class:`~bench.results_model.Check`, which
:meth:`Samples.series` and the measurements' checks build.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING

from .results_model import Check, Series

if TYPE_CHECKING:
    from .context import Context

NAN = float("nan")

Metrics = dict[str, float]
# One trial of one peer in repetition ``rep`` (0-based): its metrics by name.
Trial = Callable[[str, int], Awaitable[Metrics]]


def rotate(items: Sequence[str], rep: int) -> list[str]:
    """``items`` starting at ``rep`` (modulo its length): the order of repetition ``rep``."""
    shift = rep % len(items)
    return [*items[shift:], *items[:shift]]


def ratios(top: list[float], bottom: list[float]) -> list[float]:
    """Paired ratios, repetition by repetition; NaN where either side is missing or zero."""
    return [
        a / b if b and math.isfinite(a) and math.isfinite(b) else NAN
        for a, b in zip(top, bottom, strict=False)
    ]


@dataclasses.dataclass(frozen=True)
class Metric:
    """How one metric of :class:`Samples` is shown in the results: a row per peer."""

    key: str
    label: str
    unit: str
    fmt: str


@dataclasses.dataclass
class Samples:
    """What :func:`repeat` measured: ``values[peer][metric]``, one value per repetition."""

    peers: list[str]
    values: dict[str, dict[str, list[float]]] = dataclasses.field(default_factory=dict)

    def add(self, peer: str, metrics: Metrics) -> None:
        for key, value in metrics.items():
            self.values.setdefault(peer, {}).setdefault(key, []).append(value)

    def of(self, peer: str, key: str) -> list[float]:
        return self.values.get(peer, {}).get(key, [])

    def last(self, peer: str) -> Metrics:
        return {key: values[-1] for key, values in self.values.get(peer, {}).items()}

    def ratio(self, key: str, top: str, bottom: str) -> list[float]:
        """``top``'s ``key`` over ``bottom``'s, paired per repetition."""
        return ratios(self.of(top, key), self.of(bottom, key))

    def paired(
        self, name: str, key: str, top: str, bottom: str, op: str, threshold: float
    ) -> Check:
        """A target on ``top``'s ``key`` over ``bottom``'s, paired per repetition."""
        return Check(name, self.ratio(key, top, bottom), op, threshold)

    def bound(self, name: str, peer: str, metric: Metric, op: str, threshold: float) -> Check:
        """A target on ``peer``'s own values of ``metric``, in its unit."""
        values = self.of(peer, metric.key)
        return Check(name, values, op, threshold, unit=f" {metric.unit}", fmt=metric.fmt)

    def share(self, peer: str, key: str) -> float:
        """The mean of a 0/1 metric (such as "complete") over the repetitions."""
        values = self.of(peer, key)
        return sum(values) / max(1, len(values))

    def series(
        self, *metrics: Metric, peers: Sequence[str] | None = None, by_peer: bool = False
    ) -> list[Series]:
        """A results row per metric and peer: metric by metric, or peer by peer (``by_peer``)."""
        chosen = list(self.peers if peers is None else peers)
        pairs = (
            [(peer, metric) for peer in chosen for metric in metrics]
            if by_peer
            else [(peer, metric) for metric in metrics for peer in chosen]
        )
        return [
            Series(peer, metric.label, metric.unit, self.of(peer, metric.key), metric.fmt)
            for peer, metric in pairs
        ]


async def repeat(
    ctx: Context, reps: int, peers: Sequence[str], trial: Trial, progress: str
) -> Samples:
    """Run ``trial`` for every peer, ``reps`` times, rotating the order per repetition.

    ``progress`` formats one peer's metrics of the repetition for the log, e.g.
    ``"{throughput:.0f} MB/s"``.
    """
    samples = Samples(list(peers))
    for rep in range(reps):
        for peer in rotate(peers, rep):
            samples.add(peer, await trial(peer, rep))
        done = ", ".join(f"{peer} {progress.format_map(samples.last(peer))}" for peer in peers)
        ctx.log(f"{ctx.label} rep {rep + 1}: {done}")
    return samples
