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
