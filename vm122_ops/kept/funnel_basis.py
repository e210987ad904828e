"""The funnel answered from memory: what a window's funnel needs, read once per start hour
and newest event, then finished for each request's exact millisecond.

A window of ``hours`` ending at ``now`` starts at ``since = now - hours``; its first whole
hour is ``H = ceil(since / 1 h)`` and its partial first hour is ``[since, H)``, inside the
hour before H. Everything but the partial hour and the clock-dependent states is the same
for every ``now`` with the same H, so ``FunnelBasis`` keeps, read in one snapshot:

- the whole hours' cells, failed steps and duration histograms (as ``funnel._read``);
- the steps' paces of the last 7 days (they also move only when H does);
- every session whose first event is in the hour before H, oldest first, so the partial
  hour of any ``since`` in it is a suffix of that list (found by bisection);
- the 50 most recently active sessions first seen from H on;
- the last-event times of the active sessions first seen from H on that any window of
  this start hour can count as moving or stuck (the funnel's ``stopped``, cohort.py), by
  furthest stage and sorted, so each range count is two bisections;
- for the previous window of the same length (``funnel.Previous``): the cells of its whole
  hours [H - hours, H - 1) and the sessions of the hour before them, oldest first (its
  partial first hour is their suffix from ``since - hours``); its last part, hour H - 1
  before ``since``, is the prefix of the sessions above that the window leaves out.

``FunnelBasis.funnel(now_ms)`` adds the partial hour's sessions and picks the 50 most
recent active ones of both parts, then classifies them at ``now``: the same figures as
the whole funnel read in one snapshot at that millisecond (tests/ops/test_funnel_basis.py
checks it against tests/support/funnel_oracle.py after random events, windows and hour
boundaries). The basis is kept
in the memo (vm122_ops/kept/memo.py) keyed by (hours, H) while the database is the same.

The API's answer (``answer_funnel_text``) is kept as bytes in the same memo until the
next *boundary* (``FunnelBasis.holds_until``): a session turning stuck or abandoned, the
window's start passing a session's first event or an hour. Between two boundaries the
funnel changes in nothing but its window's bounds, so the kept answer is the funnel at
the millisecond it was computed (its ``generated_at``); tests/ops/test_funnel_text.py
checks it against ``compute`` just before, at and after each kind of boundary.
"""

from __future__ import annotations

import sqlite3
from bisect import bisect_left
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, TypeVar

from servicekit.envelope import ok_body
from vm122_ops.funnel import cohort
from vm122_ops.funnel.rollups import (
    ACTIVE_LIMIT,
    HOUR_MS,
    NO_STAGE,
    ActiveSession,
    Cells,
    DurationCache,
    Funnel,
    Histograms,
    Previous,
    Window,
    build_funnel,
    durations_since,
    previous_bounds,
    previous_from,
    refusals_since,
)
from vm122_ops.funnel.session_states import (
    StateRule,
    StepPace,
    pace_hour,
    paces_from,
    state_of,
    waiting_step,
)
from vm122_ops.ingest.events import COMPLETED_STAGE
from vm122_ops.kept.memo import Memo
from vm122_ops.store import stored_events as stored
from vm122_ops.store.sql import QUERIES

if TYPE_CHECKING:
    from vm122_ops.store.db import Database

BasisKey = tuple[int, int]  # window hours, first whole hour
STEPS = 5
# The partial-hour suffixes (and previous windows) a basis keeps computed, newest last: a
# window's start only moves forward, so requests meet the newest ones again and never the
# older; keeping one per suffix met would grow the basis by a funnel per session of the
# hour, past what the memo counted when it kept it.
KEEP_COMPUTED = 4
_K = TypeVar("_K")
_V = TypeVar("_V")


@dataclass(frozen=True, slots=True)
class _Early:
    """A session first seen in the hour before the window's first whole hour."""

    first_event_at: int
    stage: int  # NO_STAGE when none reached
    status: str
    failed_step: int | None
    buckets: tuple[int | None, ...]
    session: ActiveSession
    refusal_code: str | None = None  # a refused session's code


def _keep_newest(kept: dict[_K, _V], key: _K, value: _V) -> None:
    """``value`` kept under ``key``, the oldest let go past ``KEEP_COMPUTED`` entries."""
    kept[key] = value
    while len(kept) > KEEP_COMPUTED:
        del kept[next(iter(kept))]


@dataclass(frozen=True, slots=True)
class FunnelBasis:
    hours: int
    first_whole_hour: int
    last_event_id: int
    cells: Cells
    steps: Histograms
    failed_steps: Counter[int]
    paces: tuple[StepPace, ...]
    early: tuple[_Early, ...]  # oldest first
    early_starts: tuple[int, ...]  # their first_event_at, for bisection
    recent_active: tuple[ActiveSession, ...]  # from the first whole hour on, newest first
    # Furthest stage (None: none) -> sorted last-event times of active sessions first seen
    # from the first whole hour on, recent enough to be moving or stuck in this hour.
    idle_since: dict[int | None, tuple[int, ...]]
    rule: StateRule
    # Refused sessions of the whole hours by code (funnel_refusals).
    refusals: Counter[str] = field(default_factory=Counter)
    # The previous window: its whole hours' cells, and the (first event, stage, status) of
    # the sessions of the hour before them, oldest first.
    previous_cells: Cells = field(default_factory=Counter)
    previous_early: tuple[tuple[int, int, str], ...] = ()
    previous_starts: tuple[int, ...] = ()  # their first events, for bisection
    # The previous window's figures by (index into ``early``, index into previous_early).
    _previous: dict[tuple[int, int], Previous] = field(default_factory=dict)
    # The counts and percentiles of each partial hour met so far, by its first early
    # session's index: they depend on nothing else (the percentiles are most of the cost).
    _counted: dict[int, tuple[Funnel, Cells, Counter[int]]] = field(default_factory=dict)
    # The last stretch [from, until) between two boundaries ``holds_until`` found.
    _stretch: list[int] = field(default_factory=lambda: [0, 0])

    def _counts(self, window: Window, first: int) -> tuple[Funnel, Cells, Counter[int]]:
        kept = self._counted.get(first)
        if kept is not None:
            return kept
        cells = Counter(self.cells)
        steps = {step: Counter(histogram) for step, histogram in self.steps.items()}
        failed_steps = Counter(self.failed_steps)
        refusals = Counter(self.refusals)
        for early in self.early[first:]:
            cells[(early.stage, early.status)] += 1
            if early.status == "refused" and early.refusal_code is not None:
                refusals[early.refusal_code] += 1
            for step, bucket in enumerate(early.buckets):
                if bucket is not None:
                    steps[step][bucket] += 1
            if early.status == "failed" and early.failed_step is not None:
                failed_steps[early.failed_step] += 1
        counted = build_funnel(window, cells, steps, [], self.last_event_id, failed_steps, refusals)
        _keep_newest(self._counted, first, (counted, cells, failed_steps))
        return counted, cells, failed_steps

    def size(self) -> int:
        """About what keeping this basis costs, in bytes (``Memo``'s cap), once requests
        have used it: its sessions and times, its step histograms' buckets, and the
        funnels it keeps computed (at most ``KEEP_COMPUTED``). Errs above
        (tests/ops/test_memo_objects.py)."""
        sessions = len(self.early) + len(self.recent_active) + len(self.previous_early)
        times = sum(len(times) for times in self.idle_since.values())
        buckets = sum(len(histogram) for histogram in self.steps.values())
        return (1 + KEEP_COMPUTED) * 8192 + 800 * sessions + 48 * times + 112 * buckets

    def funnel(self, now_ms: int) -> Funnel:
        """The funnel of the window of ``hours`` ending at ``now_ms`` (same start hour)."""
        return self._funnel(now_ms)[0]

    def _funnel(self, now_ms: int) -> tuple[Funnel, int]:
        window = Window(hours=self.hours, now_ms=now_ms)
        assert window.first_whole_hour == self.first_whole_hour
        first = bisect_left(self.early_starts, window.since_ms)
        counted, cells, failed_steps = self._counts(window, first)
        partial = self.early[first:]
        candidates = [*self.recent_active]
        candidates.extend(early.session for early in partial if early.status == "active")
        candidates.sort(key=lambda session: -session.last_event_at)  # stable: ties keep order
        active = []
        for session in candidates[:ACTIVE_LIMIT]:
            state, idle = state_of(
                session.stage, session.last_event_at, now_ms, self.paces, self.rule
            )
            active.append(session.at(state, idle))
        stopped = self._stopped(window, first, cells, failed_steps)
        previous = self._previous_of(window, first)
        funnel = replace(
            counted, window=window, active_sessions=active, stopped=stopped, previous=previous
        )
        return funnel, first

    def holds_until(self, now_ms: int) -> int:
        """``steady_until`` for the window ending at ``now_ms``: the same for every
        millisecond of the stretch found last, so a request inside it reads no session."""
        start, until = self._stretch
        if start <= now_ms < until:
            return until
        window = Window(hours=self.hours, now_ms=now_ms)
        until = self.steady_until(window, bisect_left(self.early_starts, window.since_ms))
        self._stretch[:] = [now_ms, until]
        return until

    def steady_until(self, window: Window, first: int) -> int:
        """The first millisecond after ``window.now_ms`` at which this basis's funnel
        (``first`` its index into ``early`` then) may differ in anything but its window's
        bounds: the earliest of

        - the window's start passing the next hour (then it is another basis's) or the
          first event of the next session of its partial hour (``first`` moves), and the
          previous window's start passing the next session of its own partial hour;
        - an active session of the cohort turning moving -> stuck (idle > its step's
          pace) or -> abandoned (idle > the abandonment time): the ``stopped`` counts
          change then. These are all the active sessions of the cohort recent enough to
          be moving or stuck (``idle_since`` and the partial hour's), so the 50 shown
          ones (``active_sessions``, their states) are among them.

        Every millisecond between two boundaries gets the same value, so it names the
        stretch of time an answer holds for (the memo's stamp). Later would be wrong;
        earlier only costs a computation."""
        now = window.now_ms
        span = self.hours * HOUR_MS
        until = self.first_whole_hour * HOUR_MS + span + 1  # since passes hour H
        if first < len(self.early_starts):
            until = min(until, self.early_starts[first] + span + 1)
        start = bisect_left(self.previous_starts, window.since_ms - span)
        if start < len(self.previous_starts):
            until = min(until, self.previous_starts[start] + 2 * span + 1)
        abandon = self.rule.abandon_ms
        early_active = [early.session for early in self.early[first:] if early.status == "active"]
        for stage in (None, *range(COMPLETED_STAGE)):
            stuck_after = self.paces[waiting_step(stage)].stuck_after_ms
            times = self.idle_since.get(stage, ())
            for limit in (stuck_after, abandon):
                # A session idle since ``at`` is past ``limit`` once now > at + limit: the
                # next is the oldest at >= now - limit, one millisecond after at + limit.
                index = bisect_left(times, now - limit)
                if index < len(times):
                    until = min(until, times[index] + limit + 1)
                for session in early_active:
                    at = session.last_event_at
                    if session.stage == stage and at + limit + 1 > now:
                        until = min(until, at + limit + 1)
        return until

    def stopped(self, now_ms: int) -> dict[str, dict[str, int]]:
        """The funnel's ``stopped`` counts at ``now_ms`` alone (the drill-down's totals)."""
        window = Window(hours=self.hours, now_ms=now_ms)
        assert window.first_whole_hour == self.first_whole_hour
        first = bisect_left(self.early_starts, window.since_ms)
        _, cells, failed_steps = self._counts(window, first)
        return self._stopped(window, first, cells, failed_steps)

    def _stopped(
        self, window: Window, first: int, cells: Cells, failed_steps: Counter[int]
    ) -> dict[str, dict[str, int]]:
        early_active = [early for early in self.early[first:] if early.status == "active"]

        def idle_count(stage: int | None, since: int, until: int) -> int:
            times = self.idle_since.get(stage, ())
            count = bisect_left(times, until) - bisect_left(times, since)
            for early in early_active:
                at = early.session.last_event_at
                if early.session.stage == stage and since <= at < until:
                    count += 1
            return count

        span = cohort.CohortWindow(since_ms=window.since_ms, now_ms=window.now_ms)
        return cohort.stopped_from(span, self.paces, self.rule, cells, failed_steps, idle_count)

    def _previous_of(self, window: Window, first: int) -> Previous:
        """The previous window: whole hours, the suffix of its first hour from ``since -
        hours``, and the sessions of hour H - 1 this window leaves out (early[:first])."""
        _, _, since, _ = previous_bounds(window)
        start = bisect_left(self.previous_starts, since)
        kept = self._previous.get((first, start))
        if kept is not None:
            return replace(kept, since_ms=since, until_ms=window.since_ms)
        cells = Counter(self.previous_cells)
        for _, stage, status in self.previous_early[start:]:
            cells[(stage, status)] += 1
        for early in self.early[:first]:
            cells[(early.stage, early.status)] += 1
        previous = previous_from(window, cells)
        _keep_newest(self._previous, (first, start), previous)
        return previous


@dataclass(frozen=True, slots=True)
class _BasisReading:
    basis: FunnelBasis
    fresh: Histograms | None
    fresh_pace: Histograms | None


def _read_basis(
    conn: sqlite3.Connection,
    window: Window,
    cached: Histograms | None,
    cached_pace: Histograms | None,
    rule: StateRule,
) -> _BasisReading:
    """Runs on a reader thread inside one snapshot (``cached*`` are private copies)."""
    hour = window.first_whole_hour
    last_event_id = stored.head(conn)
    fresh = None
    if cached is None:
        fresh = durations_since(conn, hour)
        steps = {step: Counter(histogram) for step, histogram in fresh.items()}
    else:
        steps = cached
    paced = pace_hour(window.now_ms)
    fresh_pace = None
    if paced == hour:
        pace_steps = steps
    elif cached_pace is None:
        pace_steps = fresh_pace = durations_since(conn, paced)
    else:
        pace_steps = cached_pace
    cells: Cells = Counter()
    for row in conn.execute(QUERIES["rollup_since"], {"hour": hour}):
        cells[(row["stage"], row["status"])] += row["sessions"]
    failed_steps: Counter[int] = Counter()
    for row in conn.execute(QUERIES["failed_steps_since"], {"hour": hour}):
        failed_steps[row["step"]] += row["sessions"]
    early = []
    bounds = {"since": (hour - 1) * HOUR_MS, "until": hour * HOUR_MS}
    for row in conn.execute(QUERIES["partial_hour_sessions"], bounds):
        stage = row["furthest_stage"]
        early.append(
            _Early(
                first_event_at=row["first_event_at"],
                stage=NO_STAGE if stage is None else stage,
                status=row["status"],
                failed_step=row["failed_step"],
                buckets=tuple(row[f"step{step}_bucket"] for step in range(STEPS)),
                session=ActiveSession.from_row(row),
                refusal_code=row["refusal_code"],
            )
        )
    recent = {"since": hour * HOUR_MS, "limit": ACTIVE_LIMIT}
    recent_active = tuple(
        ActiveSession.from_row(row) for row in conn.execute(QUERIES["active_sessions"], recent)
    )
    # The earliest horizon (now - abandonment) of any window with this start hour.
    horizon = (hour - 1 + window.hours) * HOUR_MS - rule.abandon_ms
    idle: dict[int | None, list[int]] = {}
    params = {"since": horizon, "cohort_since": hour * HOUR_MS}
    for row in conn.execute(QUERIES["recent_active_sessions"], params):
        idle.setdefault(row["furthest_stage"], []).append(row["last_event_at"])
    from_hour, until_hour, _, _ = previous_bounds(window)
    previous_cells: Cells = Counter()
    whole = {"hour": from_hour, "until": until_hour}
    for row in conn.execute(QUERIES["rollup_between"], whole):
        previous_cells[(row["stage"], row["status"])] += row["sessions"]
    before = {"since": (from_hour - 1) * HOUR_MS, "until": from_hour * HOUR_MS}
    previous_early = tuple(
        (
            row["first_event_at"],
            NO_STAGE if row["furthest_stage"] is None else row["furthest_stage"],
            row["status"],
        )
        for row in conn.execute(QUERIES["partial_hour_sessions"], before)
    )
    basis = FunnelBasis(
        hours=window.hours,
        first_whole_hour=hour,
        last_event_id=last_event_id,
        cells=cells,
        steps=steps,
        failed_steps=failed_steps,
        paces=paces_from(pace_steps, rule),
        early=tuple(early),
        early_starts=tuple(item.first_event_at for item in early),
        recent_active=recent_active,
        idle_since={stage: tuple(sorted(times)) for stage, times in idle.items()},
        rule=rule,
        refusals=refusals_since(conn, hour),
        previous_cells=previous_cells,
        previous_early=previous_early,
        previous_starts=tuple(at for at, _, _ in previous_early),
    )
    return _BasisReading(basis, fresh, fresh_pace)


async def read_basis(
    db: Database, window: Window, cache: DurationCache, rule: StateRule
) -> FunnelBasis:
    """One snapshot's basis for ``window``'s hours and start hour (durations from ``cache``)."""
    hour = window.first_whole_hour
    paced = pace_hour(window.now_ms)
    cached_pace = cache.get(paced) if paced != hour else None
    reading = await db.read(_read_basis, window, cache.get(hour), cached_pace, rule)
    if reading.fresh is not None:
        cache.put(hour, reading.fresh, reading.basis.last_event_id)
    if reading.fresh_pace is not None and paced != hour:
        cache.put(paced, reading.fresh_pace, reading.basis.last_event_id)
    return reading.basis


async def kept_basis(
    db: Database,
    memo: Memo,
    window: Window,
    cache: DurationCache,
    rule: StateRule,
    stamp: int | None = None,
) -> FunnelBasis:
    """The basis of ``window``'s hours and start hour: kept in ``memo`` while the database
    is the same (vm122_ops/kept/memo.py), else read once for every request waiting on it.
    ``stamp``: the database's stamp when the caller took it (else taken now)."""
    return await memo.get(
        ("funnel basis", window.hours, window.first_whole_hour),
        db.data_version() if stamp is None else stamp,
        lambda: read_basis(db, window, cache, rule),
        FunnelBasis.size,
    )


def until_boundary(stamp: int | None, basis: FunnelBasis, now_ms: int) -> tuple[int, int] | None:
    """The memo's stamp of an answer of ``basis`` that holds until its next boundary: the
    database's stamp and that boundary (None: no database stamp, nothing kept)."""
    return None if stamp is None else (stamp, basis.holds_until(now_ms))


async def answer_funnel(
    db: Database, window: Window, cache: DurationCache, memo: Memo, rule: StateRule
) -> Funnel:
    """The funnel of ``window``: from the kept basis of its hours and start hour when the
    database is the same, else from one shared read."""
    basis = await kept_basis(db, memo, window, cache, rule)
    return basis.funnel(window.now_ms)


async def answer_funnel_text(
    db: Database, window: Window, cache: DurationCache, memo: Memo, rule: StateRule
) -> bytes:
    """``answer_funnel``'s answer as the JSON the API sends (``ok`` around its document),
    kept until the database changes or the next boundary passes: the funnel at the
    millisecond it was computed (its ``generated_at``)."""
    stamp = db.data_version()
    basis = await kept_basis(db, memo, window, cache, rule, stamp)
    now_ms = window.now_ms
    return await memo.get(
        ("funnel", window.hours, window.first_whole_hour),
        until_boundary(stamp, basis, now_ms),
        lambda: _funnel_body(basis, now_ms),
    )


async def _funnel_body(basis: FunnelBasis, now_ms: int) -> bytes:
    return ok_body(**basis.funnel(now_ms).document())
