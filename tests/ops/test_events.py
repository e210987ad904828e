"""vm122_ops/ingest/events.py's times: ``format_ms`` keeps each second's text once (``_second``)
and must still say what a formatter without that cache says; ``parse_timestamp`` cuts
fractions past microseconds by the match's position (it used a ``re.sub``) and must
still read every RFC 3339 form as the reference below does."""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime

import pytest

from vm122_ops.errors import Unprocessable
from vm122_ops.ingest.events import format_ms, parse_timestamp

FIRST = int(datetime(1, 1, 2, tzinfo=UTC).timestamp() * 1000)
LAST = int(datetime(9999, 12, 31, 23, 59, 59, 999000, tzinfo=UTC).timestamp() * 1000)


def reference(ms: int) -> str:
    """The formatting before the per-second cache, from the whole float moment."""
    moment = datetime.fromtimestamp(ms / 1000, tz=UTC)
    # RFC 3339 §5.6: date-fullyear is 4DIGIT (strftime's %Y does not pad years below 1000).
    return moment.isoformat(timespec="seconds").removesuffix("+00:00") + f".{ms % 1000:03d}Z"


@pytest.mark.parametrize(
    ("ms", "text"),
    [
        pytest.param(0, "1970-01-01T00:00:00.000Z", id="epoch"),
        pytest.param(-1, "1969-12-31T23:59:59.999Z", id="just-before-epoch"),
        pytest.param(1_795_953_600_123, "2026-11-29T12:00:00.123Z", id="ms"),
        pytest.param(LAST, "9999-12-31T23:59:59.999Z", id="last"),
        pytest.param(FIRST, "0001-01-02T00:00:00.000Z", id="year-1"),
        pytest.param(-30_610_224_000_000, "1000-01-01T00:00:00.000Z", id="year-1000"),
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


def reference_parse(value: str) -> int:
    """parse_timestamp before the change: separators and Z normalised, then a re.sub
    keeping six fractional digits, then fromisoformat."""
    text = value.replace("t", "T").replace("z", "Z").replace(" ", "T")
    text = re.sub(r"(\.\d{6})\d+", r"\1", text)
    return int(datetime.fromisoformat(text).astimezone(UTC).timestamp() * 1000)


@pytest.mark.parametrize(
    ("value", "ms"),
    [
        pytest.param("2026-11-29T12:00:00Z", 1_795_953_600_000, id="whole-second"),
        pytest.param("2026-11-29t12:00:00.123z", 1_795_953_600_123, id="lower-case"),
        pytest.param("2026-11-29 13:00:00.5+01:00", 1_795_953_600_500, id="space-offset"),
        pytest.param("2026-11-29T12:00:00.123456Z", 1_795_953_600_123, id="micro"),
        pytest.param("2026-11-29T12:00:00.1239999Z", 1_795_953_600_123, id="seven-digits-cut"),
        pytest.param("2026-11-29T06:30:00.999999999-05:30", 1_795_953_600_999, id="nano-offset"),
    ],
)
def test_parse_timestamp_reads_each_form(value: str, ms: int) -> None:
    assert parse_timestamp(value) == ms == reference_parse(value)


def test_parse_timestamp_agrees_with_the_reference_on_random_forms() -> None:
    chooser = random.Random(16)
    for _ in range(5000):
        digits = chooser.randint(0, 9)
        fraction = "." + "".join(chooser.choice("0123456789") for _ in range(digits))
        value = (
            f"{chooser.randint(1970, 9998):04d}-{chooser.randint(1, 12):02d}-"
            f"{chooser.randint(1, 28):02d}{chooser.choice('Tt ')}{chooser.randint(0, 23):02d}:"
            f"{chooser.randint(0, 59):02d}:{chooser.randint(0, 59):02d}"
            f"{fraction if digits else ''}{chooser.choice(['Z', 'z', '+00:00', '-05:30'])}"
        )
        assert parse_timestamp(value) == reference_parse(value), value


@pytest.mark.parametrize(
    "value",
    ["2026-02-30T10:00:00Z", "2026-11-29T10:00:00", "2026-11-29T10:00:00.Z", "x", ""],
)
def test_parse_timestamp_refuses_what_is_not_a_date_time(value: str) -> None:
    with pytest.raises(Unprocessable):
        parse_timestamp(value)
