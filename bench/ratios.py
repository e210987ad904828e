"""Ratios of two measurements taken in pairs, each pair in the same few seconds.

A ratio of two totals (every slice of a summed over every slice of b) lets one bad slice
move the whole figure: a disk that is slow to fsync for two seconds, a burst of other work
on the machine. Pairing each slice of a with a slice of b measured right beside it, and
taking the median of the pairs' ratios, keeps what most pairs say: a disturbed pair moves
the median by at most one rank. The spread of the pairs is reported beside it, so a run
where the pairs disagree shows it.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence


def median(values: Sequence[float]) -> float:
    """The median (the mean of the two middle values for an even count)."""
    if not values:
        raise ValueError("no values")
    return float(statistics.median(values))


def pair_ratios(numerators: Sequence[float], denominators: Sequence[float]) -> list[float]:
    """Each pair's numerator / denominator; pairs with a zero denominator are left out."""
    if len(numerators) != len(denominators):
        raise ValueError(f"{len(numerators)} numerators for {len(denominators)} denominators")
    return [n / d for n, d in zip(numerators, denominators, strict=True) if d]


def median_ratio(numerators: Sequence[float], denominators: Sequence[float]) -> float | None:
    """The median of the per-pair ratios; None when no pair has a denominator."""
    ratios = pair_ratios(numerators, denominators)
    return median(ratios) if ratios else None


def spread(ratios: Sequence[float], scale: float = 1.0, unit: str = "x") -> str:
    """A note: how many pairs, and their range, e.g. "median of 5 pairs (0.41-0.47x)"."""
    if not ratios:
        return "no pairs"
    low, high = min(ratios) * scale, max(ratios) * scale
    digits = 1 if unit == "%" else 2
    return f"median of {len(ratios)} pairs ({low:.{digits}f}-{high:.{digits}f}{unit})"
