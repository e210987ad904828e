"""The onboarding funnel, read from hourly rollups so its cost does not grow with events.

Each session contributes to one funnel_rollup cell (hour of its first event, furthest
stage, status) and to one funnel_durations cell per step it completed (hour, step,
duration bucket), and a failed session to one funnel_failed_steps cell (hour, the step
that failed: sessions.py). Ingest moves those contributions when a session's state
changes. The funnel sums the cells of the window's whole hours and adds the sessions of the partial
first hour exactly, so the cohort boundary is exact to the millisecond.

Durations are kept in a log histogram (vm122_ops/funnel/durations.py): exact milliseconds below
100 ms, then buckets 1% wide, so a reported median or p90 is within 0.5% of the true
nearest-rank value. Each session row keeps its steps' buckets, so the partial first hour
is summed in SQL from an index.

The duration cells are the one part whose row count grows with traffic (hours x steps x
buckets in use), so ``DurationCache`` keeps the merged histogram of each recently asked
window start in memory and applies every committed change to it: a window is summed
from SQL once, then served from memory for as long as its first whole hour stays the same.
"""

from __future__ import annotations

import sqlite3
from collections import Counter, OrderedDict, deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from servicekit.sqlfiles import Queries
from vm122_ops.funnel.durations import percentile as percentile  # re-exported
from vm122_ops.funnel.durations import percentiles
from vm122_ops.funnel.session_states import (
    State,
    StateRule,
    StepPace,
    pace_hour,
    paces_from,
)
from vm122_ops.ingest.events import STAGES, format_ms
from vm122_ops.ingest.session_fold import SessionState
from vm122_ops.store import stored_events as stored
from vm122_ops.store.sql import QUERIES

if TYPE_CHECKING:
    from vm122_ops.store.db import Database

HOUR_MS = 3_600_000
NO_STAGE = -1
ACTIVE_LIMIT = 50
RollupKey = tuple[int, int, str]  # hour, stage, status
DurationKey = tuple[int, int, int]  # hour, step, bucket
DurationDelta = tuple[int, int, int, int]  # hour, step, bucket, change in sessions
Histograms = dict[int, Counter[int]]  # step -> {bucket: sessions}
Cells = Counter[tuple[int, str]]  # (stage, status) -> sessions


def rollup_key(state: SessionState) -> RollupKey:
    stage = NO_STAGE if state.furthest_stage is None else state.furthest_stage
    return (state.first_event_at // HOUR_MS, stage, state.shown_status)


def refusal_key(state: SessionState | None) -> tuple[int, str] | None:
    """A refused session's funnel_refusals cell: (hour of its first event, its code)."""
    if state is None or not state.refused or state.refusal_code is None:
        return None
    return (state.first_event_at // HOUR_MS, state.refusal_code)


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
    if old_rollup is None:
        _bump_rollup(conn, queries, new_rollup, 1)
    elif old_rollup != new_rollup:
        hour, stage, status = new_rollup
        old_hour, old_stage, old_status = old_rollup
        conn.execute(
            queries["move_rollup"],
            {
                "old_hour": old_hour,
                "old_stage": old_stage,
                "old_status": old_status,
                "hour": hour,
                "stage": stage,
                "status": status,
            },
        )
    old_refusal, new_refusal = refusal_key(old), refusal_key(new)
    if old_refusal != new_refusal:
        for cell, change in ((old_refusal, -1), (new_refusal, 1)):
            if cell is not None:
                conn.execute(
                    queries["bump_refusal"], {"hour": cell[0], "code": cell[1], "delta": change}
                )
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

    Used on the event loop only (``get``, ``put``, ``apply``); the SQL runs on a reader
    thread in between. Each entry knows the newest event it includes (read in the same
    snapshot as its cells), and ``apply`` skips what an entry already has: a read can
    begin after a commit but before that commit's ``apply`` runs, and must not count it
    twice. The opposite, a commit applied while a read was on its thread and not in its
    snapshot, is why ``apply`` also keeps a short log that ``put`` replays. Event row ids
    grow in commit order (one writer; retention never removes the newest row).
    """

    def __init__(self, size: int = 8, log_size: int = 4096) -> None:
        self._size = size
        self._merged: OrderedDict[int, _Merged] = OrderedDict()
        self._log: deque[tuple[int, list[DurationDelta]]] = deque(maxlen=log_size)
        self._log_floor = 0  # the newest row that has left the log

    def apply(self, event_row: int, deltas: Iterable[DurationDelta]) -> None:
        """Fold one stored event's committed cell changes into the windows they fall in."""
        changes = list(deltas)
        if len(self._log) == self._log.maxlen:
            self._log_floor = self._log[0][0]
        self._log.append((event_row, changes))
        for first_hour, entry in self._merged.items():
            _fold(entry, first_hour, event_row, changes)

    def get(self, hour: int) -> Histograms | None:
        """A private copy of the merged histograms of the cells from ``hour`` on."""
        cached = self._merged.get(hour)
        if cached is None:
            return None
        self._merged.move_to_end(hour)
        return {step: Counter(histogram) for step, histogram in cached.steps.items()}

    def put(self, hour: int, steps: Histograms, as_of: int) -> None:
        """Keep histograms read from SQL in a snapshot that included rows up to ``as_of``;
        commits applied since that snapshot are replayed from the log."""
        if as_of < self._log_floor:
            return  # the log no longer reaches back to this snapshot: do not cache it
        entry = _Merged(as_of=as_of, steps=steps)
        for event_row, changes in self._log:
            _fold(entry, hour, event_row, changes)
        self._merged[hour] = entry
        self._merged.move_to_end(hour)
        while len(self._merged) > self._size:
            self._merged.popitem(last=False)


def _fold(entry: _Merged, first_hour: int, event_row: int, changes: list[DurationDelta]) -> None:
    if event_row <= entry.as_of:
        return
    entry.as_of = event_row
    for hour, step, bucket, change in changes:
        if hour >= first_hour:
            entry.steps[step][bucket] += change


@dataclass(frozen=True, slots=True)
class ActiveSession:
    session_id: str
    domain: str
    stage: int | None
    last_event_type: str
    last_event_at: int
    started_at: int  # the started stage's time, else the session's first event
    state: State | None = None  # moving, stuck or abandoned (vm122_ops/funnel/session_states.py)
    idle_ms: int | None = None  # the generation time minus last_event_at
    contact: str | None = None  # who to contact (vm122_ops/tickets/contacts.py)

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> ActiveSession:
        started = row["started_at"]
        return cls(
            session_id=row["session_id"],
            domain=row["domain"],
            stage=row["furthest_stage"],
            last_event_type=row["last_event_type"],
            last_event_at=row["last_event_at"],
            started_at=started if started is not None else row["first_event_at"],
            contact=row["contact"],
        )

    def at(self, state: State, idle_ms: int) -> ActiveSession:
        """This session as classified at a moment (``dataclasses.replace`` without its
        generic cost: a kept funnel answer classifies 50 sessions per request)."""
        return ActiveSession(
            self.session_id,
            self.domain,
            self.stage,
            self.last_event_type,
            self.last_event_at,
            self.started_at,
            state,
            idle_ms,
            self.contact,
        )

    def document(self) -> dict[str, Any]:
        head = _session_head(
            self.session_id,
            self.domain,
            self.stage,
            self.last_event_type,
            self.last_event_at,
            self.started_at,
        )
        return {
            **head,
            "state": self.state,
            "contact": self.contact,
        }


@lru_cache(maxsize=64 * ACTIVE_LIMIT)
def _session_head(
    session_id: str,
    domain: str,
    stage: int | None,
    last_event_type: str,
    last_event_at: int,
    started_at: int,
) -> dict[str, Any]:
    """The part of an active session's document that does not depend on the moment: the
    same sessions are rendered at each request until they move (only ``document``
    reads it, copying it into a new dict)."""
    return {
        "session_id": session_id,
        "domain": domain,
        "stage": None if stage is None else STAGES[stage],
        "last_event_type": last_event_type,
        "last_event_at": format_ms(last_event_at),
        "started_at": format_ms(started_at),
    }


@dataclass(frozen=True, slots=True)
class Previous:
    """The funnel's counts for the window of the same length just before it: the sessions
    whose first event is in [since - hours, since), with their status now (so a session
    of that window that completes today counts as completed). Read from the same rollups:
    the whole hours [H - hours, H - 1) (H the window's first whole hour), the suffix of
    the hour before them and the prefix of hour H - 1 up to ``since``."""

    since_ms: int
    until_ms: int
    cohort: int
    stages: dict[str, int]
    failed: int
    conversion: dict[str, dict[str, float | None]]
    refused: int = 0

    def document(self) -> dict[str, Any]:
        return {
            "since": format_ms(self.since_ms),
            "until": format_ms(self.until_ms),
            "cohort": self.cohort,
            "stages": self.stages,
            "failed": self.failed,
            "refused": self.refused,
            "conversion": self.conversion,
        }


def previous_from(window: Window, cells: Cells) -> Previous:
    """The previous window's figures from its (stage, status) cells."""
    counted = build_funnel(window, cells, {}, [])
    return Previous(
        since_ms=window.since_ms - window.hours * HOUR_MS,
        until_ms=window.since_ms,
        cohort=counted.cohort,
        stages=counted.stages,
        failed=counted.failed,
        conversion=counted.conversion,
        refused=counted.refused,
    )


def previous_bounds(window: Window) -> tuple[int, int, int, int]:
    """The previous window's parts: its whole hours [from_hour, until_hour) and the
    millisecond bounds of its partial first hour [since, from_hour) (empty when ``since``
    is on the hour); the rest, [until_hour, window.since_ms), is the part of hour H - 1
    before the window."""
    hour = window.first_whole_hour
    return hour - window.hours, hour - 1, window.since_ms - window.hours * HOUR_MS, hour


@dataclass(frozen=True, slots=True)
class Funnel:
    """The funnel of one window (docs/webhook-funnel-events.md, "The funnel")."""

    window: Window
    last_event_id: int  # the newest event this snapshot includes
    cohort: int
    stages: dict[str, int]
    failed: int
    failed_by_step: dict[str, int]  # failed sessions by the step that failed
    failed_by_furthest_stage: dict[str, int]
    conversion: dict[str, dict[str, float | None]]
    time_to_convert: dict[str, dict[str, Any]]
    active_sessions: list[ActiveSession]
    # Per furthest stage, the sessions that stopped there by state (vm122_ops/funnel/cohort.py).
    stopped: dict[str, dict[str, int]] = field(default_factory=dict)
    previous: Previous | None = None  # the window of the same length just before
    # Cohort sessions whose attempts were all refused (counted in stages.started), and
    # those by their refusal's code.
    refused: int = 0
    refused_by_code: dict[str, int] = field(default_factory=dict)

    def document(self) -> dict[str, Any]:
        """The funnel as JSON fields (the API answer and the stream's funnel event)."""
        return {
            "window_hours": self.window.hours,
            "since": format_ms(self.window.since_ms),
            "generated_at": format_ms(self.window.now_ms),
            "last_event_id": self.last_event_id,
            "cohort": self.cohort,
            "stages": self.stages,
            "failed": self.failed,
            "refused": self.refused,
            "refused_by_code": self.refused_by_code,
            "failed_by_step": self.failed_by_step,
            "failed_by_furthest_stage": self.failed_by_furthest_stage,
            "conversion": self.conversion,
            "time_to_convert": self.time_to_convert,
            "active_sessions": [session.document() for session in self.active_sessions],
            "stopped": self.stopped,
            "previous": None if self.previous is None else self.previous.document(),
        }


async def pace_histograms(db: Database, cache: DurationCache, now_ms: int) -> Histograms:
    """The steps' duration histograms of the last 7 days (states.pace_hour on), from
    ``cache`` or read once and cached: what /metrics and the banner judge stuck by."""
    hour = pace_hour(now_ms)
    cached = cache.get(hour)
    if cached is not None:
        return cached
    histograms, head = await db.read(_durations_and_head, hour)
    cache.put(hour, {step: Counter(h) for step, h in histograms.items()}, head)
    return histograms


async def read_paces(
    db: Database, cache: DurationCache, now_ms: int, rule: StateRule
) -> tuple[StepPace, ...]:
    """The steps' paces (states.py) from the 7-day histograms of ``pace_histograms``."""
    return paces_from(await pace_histograms(db, cache, now_ms), rule)


def _durations_and_head(conn: sqlite3.Connection, hour: int) -> tuple[Histograms, int]:
    return durations_since(conn, hour), stored.head(conn)


def refusals_since(conn: sqlite3.Connection, hour: int) -> Counter[str]:
    """Refused cohort sessions by code, for the whole hours from ``hour`` on."""
    return Counter(
        {
            row["code"]: int(row["sessions"])
            for row in conn.execute(QUERIES["refusals_since"], {"hour": hour})
        }
    )


def durations_since(conn: sqlite3.Connection, hour: int) -> Histograms:
    steps: Histograms = {step: Counter() for step in range(len(STAGES) - 1)}
    for row in conn.execute(QUERIES["durations_since"], {"hour": hour}):
        steps[row["step"]][row["bucket"]] += row["sessions"]
    return steps


def build_funnel(
    window: Window,
    cells: Cells,
    steps: dict[int, Counter[int]],
    active: list[ActiveSession],
    last_event_id: int = 0,
    failed_steps: Counter[int] | None = None,
    refusals: Counter[str] | None = None,
) -> Funnel:
    """The funnel's counts from its (stage, status) cells. Conversion divides by the
    sessions that started and were not refused (``stages.started - refused``): a refused
    attempt never had a domain that could be onboarded (docs/webhook-funnel-events.md)."""
    reached = [0] * len(STAGES)
    failed_by_stage = dict.fromkeys(("none", *STAGES), 0)
    by_step = failed_steps or Counter()
    failed_by_step = {name: by_step[index] for index, name in enumerate(STAGES)}
    cohort = 0
    refused = 0
    for (stage, status), count in cells.items():
        cohort += count
        if status == "refused":
            refused += count
        for index in range(stage + 1):  # stage -1 reaches nothing
            reached[index] += count
        if status == "failed":
            failed_by_stage["none" if stage == NO_STAGE else STAGES[stage]] += count
    started = reached[0] - refused
    conversion = {}
    for index, name in enumerate(STAGES):
        reached_here = reached[index] if index else started
        previous = reached[index - 1] if index > 1 else started
        conversion[name] = {
            "of_started": _ratio(reached_here, started),
            "of_previous": _ratio(reached_here, previous),
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
    return Funnel(
        window=window,
        last_event_id=last_event_id,
        cohort=cohort,
        stages=dict(zip(STAGES, reached, strict=True)),
        failed=sum(failed_by_stage.values()),
        failed_by_step=failed_by_step,
        failed_by_furthest_stage=failed_by_stage,
        conversion=conversion,
        time_to_convert=time_to_convert,
        active_sessions=active,
        refused=refused,
        refused_by_code=dict(
            sorted(((code, n) for code, n in (refusals or Counter()).items() if n), key=_most_first)
        ),
    )


def _most_first(item: tuple[str, int]) -> tuple[int, str]:
    return (-item[1], item[0])


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _seconds(ms: float | None) -> float | None:
    return None if ms is None else round(ms / 1000, 3)
