"""Step durations as log-histogram buckets: exact milliseconds below 100 ms, then buckets
1% wide, so a value read back from its bucket is within 0.5% of the true one.

The same formula is written in SQL in sql/ops/schema/0003_session_step_buckets.sql (its
backfill); change neither without the other.
"""

from __future__ import annotations

import math

_EXACT_MS = 100
_GROWTH = math.log(1.01)


def bucket_of(ms: int) -> int:
    if ms < _EXACT_MS:
        return max(ms, 0)
    return _EXACT_MS + math.ceil(math.log(ms / _EXACT_MS) / _GROWTH)


def bucket_value_ms(bucket: int) -> float:
    """The value a bucket stands for: exact below 100 ms, else its geometric middle."""
    if bucket < _EXACT_MS:
        return float(bucket)
    return _EXACT_MS * math.exp((bucket - _EXACT_MS - 0.5) * _GROWTH)


def percentiles(
    histogram: dict[int, int], fractions: tuple[float, ...]
) -> tuple[int, list[float | None]]:
    """Sessions counted, and nearest-rank percentiles (ms) over a {bucket: count}
    histogram, in one pass; empty or non-positive cells count for nothing."""
    cells = sorted((bucket, n) for bucket, n in histogram.items() if n > 0)
    total = sum(n for _, n in cells)
    if total == 0:
        return 0, [None] * len(fractions)
    ranks = [max(1, math.ceil(fraction * total)) for fraction in fractions]
    found: list[float | None] = [None] * len(fractions)
    seen = 0
    for bucket, n in cells:
        seen += n
        for index, rank in enumerate(ranks):
            if found[index] is None and seen >= rank:
                found[index] = bucket_value_ms(bucket)
    return total, found


def percentile(histogram: dict[int, int], fraction: float) -> float | None:
    """Nearest-rank percentile over a {bucket: count} histogram, in milliseconds."""
    return percentiles(histogram, (fraction,))[1][0]
