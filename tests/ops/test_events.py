"""vm122_ops/events.py's time formatting: ``format_ms`` keeps each second's text once
(``_second``) and must still say what a formatter without that cache says."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from vm122_ops.events import format_ms

FIRST = int(datetime(1, 1, 2, tzinfo=UTC).timestamp() * 1000)
LAST = int(datetime(9999, 12, 31, 23, 59, 59, 999000, tzinfo=UTC).timestamp() * 1000)


def reference(ms: int) -> str:
    """The formatting before the per-second cache, from the whole float moment."""
    moment = datetime.fromtimestamp(ms / 1000, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


@pytest.mark.parametrize(
    ("ms", "text"),
    [
        pytest.param(0, "1970-01-01T00:00:00.000Z", id="epoch"),
        pytest.param(-1, "1969-12-31T23:59:59.999Z", id="just-before-epoch"),
        pytest.param(1_795_953_600_123, "2026-11-29T12:00:00.123Z", id="ms"),
        pytest.param(LAST, "9999-12-31T23:59:59.999Z", id="last"),
    ],
)
def test_format_ms_known_values(ms: int, text: str) -> None:
    assert format_ms(ms) == text


def test_format_ms_equals_the_uncached_formatting() -> None:
    rng = random.Random(16)
    moments = [FIRST, LAST, -1000, -1001, 999, 1000, 1001]
    moments += [rng.randint(FIRST, LAST) for _ in range(5000)]
    moments += [1_795_953_600_000 + rng.randint(-5000, 5000) for _ in range(5000)]  # repeats
    mismatched = [ms for ms in moments if format_ms(ms) != reference(ms)]
    assert mismatched == []


def test_format_ms_outside_the_calendar_still_raises() -> None:
    with pytest.raises((ValueError, OverflowError, OSError)):
        format_ms(LAST + 1000)
