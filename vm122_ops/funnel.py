"""The onboarding funnel, read from hourly rollups so its cost does not grow with events.

Each session contributes to one funnel_rollup cell (hour of its first event, furthest
stage, status) and to one funnel_durations cell per step it completed (hour, step,
duration bucket), and a failed session to one funnel_failed_steps cell (hour, the step
that failed: sessions.py). Ingest moves those contributions when a session's state
changes. The funnel sums the cells of the window's whole hours and adds the sessions of the partial
first hour exactly, so the cohort boundary is exact to the millisecond.

Durations are kept in a log histogram (vm122_ops/durations.py): exact milliseconds below
100 ms, then buckets 1% wide, so a reported median or p90 is within 0.5% of the true
nearest-rank value. Each session row keeps its steps' buckets, so the partial first hour
is summed in SQL from an index.

The duration cells are the one part whose row count grows with traffic (hours x steps x
buckets in use), so ``DurationCache`` keeps the merged histogram of each recently asked
window start in memory and applies every committed change to it: a window is summed
from SQL once, then served from memory for as long as its first whole hour stays the same.
"""

from __future__ import annotations

import math
import sqlite3
from collections import Counter, OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import aiosqlite

from sqlfiles import Queries
from vm122_ops.durations import bucket_value_ms
from vm122_ops.events import STAGES, format_ms
from vm122_ops.sessions import SessionState

HOUR_MS = 3_600_000
NO_STAGE = -1
ACTIVE_LIMIT = 50
RollupKey = tuple[int, int, str]  # hour, stage, status
DurationKey = tuple[int, int, int]  # hour, step, bucket
DurationDelta = tuple[int, int, int, int]  # hour, step, bucket, change in sessions
Histograms = dict[int, Counter[int]]  # step -> {bucket: sessions}


def rollup_key(state: SessionState) -> RollupKey:
    stage = NO_STAGE if state.furthest_stage is None else state.furthest_stage
    return (state.first_event_at // HOUR_MS, stage, state.status)


def failed_step_key(state: SessionState) -> tuple[int, int] | None:
    """A failed session's funnel cell by the step that failed: (hour, step)."""
    if state.status != "failed" or state.failed_step is None:
        return None
    return (state.first_event_at // HOUR_MS, state.failed_step)


def duration_keys(state: SessionState) -> list[DurationKey]:
    hour = state.first_event_at // HOUR_MS
    return [
        (hour, step, bucket) for step, bucket in enumerate(state.step_buckets) if bucket is not None
    ]


def move_contributions(
    conn: sqlite3.Connection,
    queries: Queries,
    old: SessionState | None,
    new: SessionState,
) -> list[DurationDelta]:
    """Update the rollups for a session whose state went from ``old`` to ``new``; returns
    the changes to duration cells, for ``DurationCache.apply`` once committed."""
    old_rollup = None if old is None else rollup_key(old)
    new_rollup = rollup_key(new)
    if old_rollup != new_rollup:
        if old_rollup is not None:
            _bump_rollup(conn, queries, old_rollup, -1)
        _bump_rollup(conn, queries, new_rollup, 1)
    old_failed = None if old is None else failed_step_key(old)
    new_failed = failed_step_key(new)
    if old_failed != new_failed:
        for key, change in ((old_failed, -1), (new_failed, 1)):
            if key is not None:
                conn.execute(
                    queries["bump_failed_step"], {"hour": key[0], "step": key[1], "delta": change}
                )
    delta = Counter(duration_keys(new))
    delta.subtract(Counter(duration_keys(old) if old is not None else []))
    changes = []
    for (hour, step, bucket), change in delta.items():
        if change:
            conn.execute(
                queries["bump_duration"],
                {"hour": hour, "step": step, "bucket": bucket, "delta": change},
            )
            changes.append((hour, step, bucket, change))
    return changes


def _bump_rollup(conn: sqlite3.Connection, queries: Queries, key: RollupKey, delta: int) -> None:
    hour, stage, status = key
    conn.execute(
        queries["bump_rollup"],
        {"hour": hour, "stage": stage, "status": status, "delta": delta},
    )


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


@dataclass(frozen=True, slots=True)
class Window:
    hours: int
    now_ms: int

    @property
    def since_ms(self) -> int:
        return self.now_ms - self.hours * HOUR_MS

    @property
    def first_whole_hour(self) -> int:
        return -(-self.since_ms // HOUR_MS)


@dataclass
class _Merged:
    as_of: int  # the newest event row whose changes the histograms include
    steps: Histograms


class DurationCache:
    """Merged duration histograms of recent window starts, kept current after commits.

    Each entry knows the newest event it includes (read in the same snapshot as its
    cells), and ``apply`` skips what an entry already has: a read can begin after a
    commit but before that commit's ``apply`` runs, and must not count it twice. Event
    row ids grow in commit order (one writer; retention never removes the newest row).
    """

    def __init__(self, size: int = 8) -> None:
        self._size = size
        self._merged: OrderedDict[int, _Merged] = OrderedDict()

    def apply(self, event_row: int, deltas: Iterable[DurationDelta]) -> None:
        """Fold one stored event's committed cell changes into the windows they fall in."""
        changes = list(deltas)
        for first_hour, entry in self._merged.items():
            if event_row <= entry.as_of:
                continue
            entry.as_of = event_row
            for hour, step, bucket, change in changes:
                if hour >= first_hour:
                    entry.steps[step][bucket] += change

    async def since(self, conn: aiosqlite.Connection, queries: Queries, hour: int) -> Histograms:
        """The merged histograms of the cells from ``hour`` on (read-only for callers);
        ``conn`` must be inside a read transaction (one snapshot for both reads)."""
        cached = self._merged.get(hour)
        if cached is not None:
            self._merged.move_to_end(hour)
            return cached.steps
        steps: Histograms = {step: Counter() for step in range(len(STAGES) - 1)}
        for step, bucket, sessions in await conn.execute_fetchall(
            queries["durations_since"], {"hour": hour}
        ):
            steps[step][bucket] += sessions
        newest = list(await conn.execute_fetchall(queries["max_event_row"], {}))
        self._merged[hour] = _Merged(as_of=int(newest[0][0]) if newest else 0, steps=steps)
        while len(self._merged) > self._size:
            self._merged.popitem(last=False)
        return steps


async def compute_funnel(
    conn: aiosqlite.Connection,
    queries: Queries,
    window: Window,
    durations: DurationCache | None = None,
) -> dict[str, Any]:
    """The funnel document for one window, read inside one snapshot of ``conn``."""
    hour = window.first_whole_hour
    cells: Counter[tuple[int, str]] = Counter()
    cache = durations or DurationCache()
    merged = await cache.since(conn, queries, hour)
    # A copy: the partial hour is added below, and the cached one must stay as it is.
    steps: Histograms = {step: Counter(merged[step]) for step in merged}

    # execute_fetchall: one hop to the reader's thread per query, not three.
    for stage, status, sessions in await conn.execute_fetchall(
        queries["rollup_since"], {"hour": hour}
    ):
        cells[(stage, status)] += sessions
    # The window's partial first hour, summed in SQL from the covering index.
    partial = {"since": window.since_ms, "until": hour * HOUR_MS}
    for kind, key, value, sessions in await conn.execute_fetchall(queries["partial_hour"], partial):
        if kind == "stage":
            cells[(key, value)] += sessions
        else:
            steps[key][value] += sessions
    failed_steps: Counter[int] = Counter()
    for step, sessions in await conn.execute_fetchall(
        queries["failed_steps_since"], {"hour": hour}
    ):
        failed_steps[step] += sessions
    for step, sessions in await conn.execute_fetchall(
        queries["partial_hour_failed_steps"], partial
    ):
        failed_steps[step] += sessions
    active_params = {"since": window.since_ms, "limit": ACTIVE_LIMIT}
    active = [
        _active_session(row)
        for row in await conn.execute_fetchall(queries["active_sessions"], active_params)
    ]
    # The newest event this snapshot includes: a live client re-applies the newer ones.
    newest = list(await conn.execute_fetchall(queries["max_event_row"], {}))
    last_event_id = int(newest[0][0]) if newest else 0
    return build_funnel(window, cells, steps, active, last_event_id, failed_steps)


def build_funnel(
    window: Window,
    cells: Counter[tuple[int, str]],
    steps: dict[int, Counter[int]],
    active: list[dict[str, Any]],
    last_event_id: int = 0,
    failed_steps: Counter[int] | None = None,
) -> dict[str, Any]:
    reached = [0] * len(STAGES)
    failed_by_stage = dict.fromkeys(("none", *STAGES), 0)
    by_step = failed_steps or Counter()
    failed_by_step = {name: by_step[index] for index, name in enumerate(STAGES)}
    cohort = 0
    for (stage, status), count in cells.items():
        cohort += count
        for index in range(stage + 1):  # stage -1 reaches nothing
            reached[index] += count
        if status == "failed":
            failed_by_stage["none" if stage == NO_STAGE else STAGES[stage]] += count
    started = reached[0]
    conversion = {}
    for index, name in enumerate(STAGES):
        previous = reached[index - 1] if index else started
        conversion[name] = {
            "of_started": _ratio(reached[index], started),
            "of_previous": _ratio(reached[index], previous),
        }
    time_to_convert = {}
    for step, histogram in steps.items():
        sessions, (median, p90) = percentiles(histogram, (0.5, 0.9))
        time_to_convert[STAGES[step]] = {
            "to": STAGES[step + 1],
            "sessions": sessions,
            "median_seconds": _seconds(median),
            "p90_seconds": _seconds(p90),
        }
    return {
        "ok": True,
        "window_hours": window.hours,
        "since": format_ms(window.since_ms),
        "generated_at": format_ms(window.now_ms),
        "last_event_id": last_event_id,
        "cohort": cohort,
        "stages": dict(zip(STAGES, reached, strict=True)),
        "failed": sum(failed_by_stage.values()),
        "failed_by_step": failed_by_step,
        "failed_by_furthest_stage": failed_by_stage,
        "conversion": conversion,
        "time_to_convert": time_to_convert,
        "active_sessions": active,
    }


def _active_session(row: Iterable[Any]) -> dict[str, Any]:
    session_id, domain, stage, last_type, last_at, started_at, first_at = row
    return {
        "session_id": session_id,
        "domain": domain,
        "stage": None if stage is None else STAGES[stage],
        "last_event_type": last_type,
        "last_event_at": format_ms(last_at),
        "started_at": format_ms(started_at if started_at is not None else first_at),
    }


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _seconds(ms: float | None) -> float | None:
    return None if ms is None else round(ms / 1000, 3)
