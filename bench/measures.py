"""What one load run measured: calls, errors, throughput and latency percentiles."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True, kw_only=True)
class Load:
    """The outcome of driving one call at a fixed concurrency for a while.

    Latencies are in milliseconds; `cpu_ms` holds each watched process's CPU time per
    answered call (user and system, failed calls included), by process name. A load measured
    in several rounds keeps each round's throughput in `rounds`, and its throughput is their
    median.
    """

    name: str
    calls: int
    errors: int
    seconds: float
    p50_ms: float
    p99_ms: float
    concurrency: int
    cpu_ms: dict[str, float] = field(default_factory=dict)
    rounds: tuple[float, ...] = ()

    @property
    def throughput(self) -> float:
        """Successful calls per second (the median of the rounds, if there were rounds)."""
        if self.rounds:
            return statistics.median(self.rounds)
        return self.calls / self.seconds if self.seconds else 0.0

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "throughput": round(self.throughput, 1)}


def median_of(name: str, rounds: Sequence[Load]) -> Load:
    """Answers one load standing for `rounds` of the same call: the median of each round's
    throughput, latency percentiles and CPU per call, and the calls, errors and seconds of
    all the rounds together."""
    if not rounds:
        raise ValueError(f"no rounds of {name} to take the median of")

    def middle(values: Sequence[float]) -> float:
        return round(statistics.median(values), 4)

    return Load(
        name=name,
        calls=sum(load.calls for load in rounds),
        errors=sum(load.errors for load in rounds),
        seconds=round(sum(load.seconds for load in rounds), 3),
        p50_ms=middle([load.p50_ms for load in rounds]),
        p99_ms=middle([load.p99_ms for load in rounds]),
        concurrency=rounds[0].concurrency,
        cpu_ms={
            process: middle([load.cpu_ms[process] for load in rounds])
            for process in rounds[0].cpu_ms
        },
        rounds=tuple(round(load.throughput, 1) for load in rounds),
    )


def percentile(sorted_values: Sequence[float], share: float) -> float:
    """Answers the nearest-rank percentile (`share` in 0..1) of already sorted values."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(share * len(sorted_values)))
    return sorted_values[rank - 1]


def ratio(numerator: float, denominator: float) -> float:
    """Answers numerator / denominator, NaN when the denominator is not a positive number."""
    if not denominator or math.isnan(denominator) or math.isnan(numerator):
        return math.nan
    return numerator / denominator
