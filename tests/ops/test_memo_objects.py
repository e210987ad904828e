"""Answers the memo keeps as objects (vm122_ops/kept/memo.py) are counted at no less than
what they really hold once in use (tracemalloc): the trend's counts with both renderings of
their periods, the trend split's groups, the breakdowns' basis. Under-counted entries would
let the memo hold more than its cap."""

from __future__ import annotations

import functools
import gc
import random
import tracemalloc
from collections import Counter
from collections.abc import Callable, Hashable
from typing import Any

import pytest

from tests.ops.conftest import HOUR, NOW, Ops
from tests.ops.test_memo import _traced
from vm122_ops.funnel import trend
from vm122_ops.funnel.breakdown_trend import SplitCounts, SplitGroup
from vm122_ops.funnel.breakdowns import BreakdownBasis
from vm122_ops.funnel.rollups import DurationCache, Window
from vm122_ops.funnel.session_states import StateRule
from vm122_ops.ingest.events import STAGE_TYPES, _second
from vm122_ops.kept.funnel_basis import FunnelBasis, read_basis
from vm122_ops.kept.memo import Memo

STATUSES = ("active", "completed", "failed", "refused")
ENTRIES = 40
FIRST_HOUR = 498_876


def fresh(text: str) -> str:
    """``text`` as a string object of its own, as each SQLite row's column is."""
    return text.encode().decode()


def _counts(rng: random.Random, hours: int, first_hour: int) -> trend.Counts:
    """A series' counts with counts past the small integers Python shares."""
    size, count, _ = trend.shape(hours, first_hour * trend.HOUR_MS)
    cells = tuple(
        (
            rng.randint(1000, 99999),
            rng.randint(1000, 9999),
            rng.randint(300, 999),
            rng.randint(300, 999),
        )
        for _ in range(count)
    )
    return trend.Counts(hours, first_hour, size, cells)


def _in_use(counts: trend.Counts) -> None:
    """What answering from kept counts does to them: both renderings made."""
    counts.rendered(False)
    counts.rendered(True)


def _measured(
    make: Callable[[int], tuple[Hashable, Any]],
    size: Callable[[Any], int],
    use: Callable[[Any], None],
) -> tuple[int, int]:
    """(bytes held, bytes the memo counts) for ENTRIES kept objects, each used once.

    format_ms's per-second cache is shared by every answer and bounded on its own: it is
    emptied first, so what it holds after earlier tests does not change the figure (with
    it full of other seconds, a one-hour trend's entries measured 37% below the run that
    starts it empty, the order the file runs in)."""
    _second.cache_clear()
    memo = Memo(max_bytes=1 << 30)  # keeps all: no entry let go

    async def keep() -> None:
        for n in range(ENTRIES):
            key, value = make(n)

            async def read(value: Any = value) -> Any:
                return value

            use(await memo.get(key, 7, read, size))

    held = _traced(keep)
    assert memo.entries == ENTRIES
    return held, memo.kept_bytes


@pytest.mark.parametrize("hours", [1, 24, 72, 96, 2160])
def test_kept_trend_counts_hold_no_more_than_the_memo_counts(hours: int) -> None:
    rng = random.Random(hours)

    def make(n: int) -> tuple[Hashable, Any]:
        return ("trend", hours, FIRST_HOUR + n), _counts(rng, hours, FIRST_HOUR + n)

    held, counted = _measured(make, trend.Counts.kept_size, _in_use)
    assert held <= counted
    assert counted <= held * 1.5


@pytest.mark.parametrize("hours", [24, 2160])
def test_kept_trend_splits_hold_no_more_than_the_memo_counts(hours: int) -> None:
    """Five values, other and unknown, each with its series."""
    rng = random.Random(hours)

    def make(n: int) -> tuple[Hashable, Any]:
        groups = [
            SplitGroup("value", fresh(f"1.{rng.randint(0, 99)}.{g}"), 1, _counts(rng, hours, n))
            for g in range(5)
        ]
        groups.append(SplitGroup("other", None, 12, _counts(rng, hours, n)))
        groups.append(SplitGroup("unknown", None, 1, _counts(rng, hours, n)))
        found = SplitCounts("release", 5, tuple(groups))
        return ("breakdown trend", "release", hours, FIRST_HOUR + n, 5), found

    def use(found: SplitCounts) -> None:
        for group in found.groups:
            _in_use(group.counts)

    held, counted = _measured(make, SplitCounts.kept_size, use)
    assert held <= counted
    assert counted <= held * 1.5


@pytest.mark.parametrize(
    ("values", "early"), [(1, 0), (3, 0), (40, 0), (1, 4000), (40, 2000), (200, 300)]
)
def test_kept_breakdown_bases_hold_no_more_than_the_memo_counts(values: int, early: int) -> None:
    """Each value with a cell per (stage, status) seen, the partial hour's sessions; every
    string a new object, as read from SQLite."""
    rng = random.Random(values * 10_000 + early)

    def make(n: int) -> tuple[Hashable, Any]:
        names = [f"1.{i}.{rng.randint(0, 99)}" for i in range(values)]
        cells: dict[str, Counter[tuple[int, str]]] = {}
        for name in names:
            by_cell = cells.setdefault(fresh(name), Counter())
            for _ in range(20):
                cell = (rng.randint(-1, 5), fresh(rng.choice(STATUSES)))
                by_cell[cell] += rng.randint(300, 5000)
        partial = tuple(
            (fresh(rng.choice(names)), rng.randint(-1, 5), fresh(rng.choice(STATUSES)))
            for _ in range(early)
        )
        starts = tuple(
            sorted(
                (FIRST_HOUR - 1) * trend.HOUR_MS + rng.randint(0, 3_599_999) for _ in range(early)
            )
        )
        basis = BreakdownBasis(
            dimension="release",
            hours=24,
            first_whole_hour=FIRST_HOUR + n,
            cells=cells,
            early=partial,
            early_starts=starts,
            last_event_id=rng.randint(10**6, 10**7),
        )
        return ("breakdown basis", "release", 24, FIRST_HOUR + n), basis

    def use(basis: BreakdownBasis) -> None:
        basis.holds_until((basis.first_whole_hour + 23) * trend.HOUR_MS + 1)

    held, counted = _measured(make, BreakdownBasis.size, use)
    assert held <= counted
    assert counted <= held * 1.5


def last_ms(window: Window) -> int:
    """The last millisecond whose window has the same first whole hour as ``window``."""
    return (window.first_whole_hour + window.hours) * trend.HOUR_MS - 1


async def test_kept_funnel_bases_hold_no_more_than_the_memo_counts(ops: Ops) -> None:
    """A basis read from stored events (sessions of the partial hour, active ones since),
    then asked for the funnel at each start of a partial-hour session, as requests over
    the hour do: what it then holds is no more than the memo counted."""
    rng = random.Random(5)
    hours = 24
    # The window's start just after an hour: every session of that hour is in its partial
    # hour, and each moves out of it in turn as the start passes its first event.
    ops.clock.now = NOW - HOUR + 0.001
    window = Window(hours, int(ops.clock.now * 1000))
    partial_from = (window.first_whole_hour - 1) * trend.HOUR_MS / 1000
    starts = sorted(partial_from + rng.uniform(0, 3599) for _ in range(120))
    for n, at in enumerate(
        [*starts, *(ops.clock.now - rng.uniform(60, 20 * HOUR) for _ in range(60))]
    ):
        for step, event_type in enumerate(STAGE_TYPES[: rng.randint(1, 4)]):
            response = await ops.send(
                event_type, f"{n:08d}-5e55-4000-8000-{n:012d}", at + step * rng.uniform(1, 3000)
            )
            assert response.status_code == 202, response.text
        if rng.random() < 0.2:
            response = await ops.send(
                "onboarding.failed", f"{n:08d}-5e55-4000-8000-{n:012d}", at + 300, code="x:1"
            )
            assert response.status_code == 202, response.text
    rule = StateRule()
    memo = Memo(max_bytes=1 << 30)
    entries = 8

    async def keep() -> None:
        for n in range(entries):
            basis = await memo.get(
                ("funnel basis", hours, window.first_whole_hour + n),
                7,
                functools.partial(read_basis, ops.db, window, DurationCache(), rule),
                FunnelBasis.size,
            )
            for start in (*basis.early_starts, window.since_ms):
                at = min(max(start + hours * trend.HOUR_MS, window.now_ms), last_ms(window))
                basis.funnel(at)

    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        await keep()
        gc.collect()
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert memo.entries == entries
    assert held <= memo.kept_bytes
    assert memo.kept_bytes <= held * 1.5
