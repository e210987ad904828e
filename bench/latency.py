"""Latency samples: nearest-rank percentiles and request loops bounded in count and time."""

from __future__ import annotations

import math
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass


def percentile(samples: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile (0 < fraction <= 1) of a non-empty sequence."""
    if not samples:
        raise ValueError("no samples")
    ordered = sorted(samples)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


@dataclass(frozen=True, slots=True)
class Summary:
    """Milliseconds."""

    count: int
    p50: float
    p95: float
    p99: float
    max: float

    @classmethod
    def of(cls, seconds: Sequence[float]) -> Summary:
        ms = [s * 1000 for s in seconds]
        return cls(
            count=len(ms),
            p50=percentile(ms, 0.50),
            p95=percentile(ms, 0.95),
            p99=percentile(ms, 0.99),
            max=max(ms),
        )

    def as_dict(self) -> dict[str, float]:
        return {
            "count": self.count,
            "p50_ms": round(self.p50, 3),
            "p95_ms": round(self.p95, 3),
            "p99_ms": round(self.p99, 3),
            "max_ms": round(self.max, 3),
        }


@dataclass(frozen=True, slots=True)
class Bound:
    """At most ``count`` iterations and about ``seconds`` of wall time, after warm-up."""

    count: int
    seconds: float
    warmup: int = 5


async def alternate(
    probes: Sequence[Callable[[], Awaitable[float]]], bound: Bound
) -> list[list[float]]:
    """Run the probes in turn (a, b, a, b...), so noise hits each of them alike.

    Each probe returns the seconds it measured. Returns the samples of each probe.
    """
    for _ in range(bound.warmup):
        for probe in probes:
            await probe()
    samples: list[list[float]] = [[] for _ in probes]
    deadline = time.monotonic() + bound.seconds
    for _ in range(bound.count):
        for index, probe in enumerate(probes):
            samples[index].append(await probe())
        if time.monotonic() >= deadline:
            break
    return samples
