"""The funnel computed whole in one snapshot: the reference the tests compare Ops' kept
answers with (vm122_ops/kept/funnel_basis.py), every part read straight from the
rollups. Production never takes this path: it answers from the kept basis."""

from __future__ import annotations

import sqlite3
from collections import Counter
from dataclasses import dataclass, replace

from vm122_ops.funnel import cohort
from vm122_ops.funnel.rollups import (
    ACTIVE_LIMIT,
    HOUR_MS,
    ActiveSession,
    Cells,
    DurationCache,
    Funnel,
    Histograms,
    Window,
    build_funnel,
    durations_since,
    previous_bounds,
    previous_from,
    refusals_since,
)
from vm122_ops.funnel.session_states import StateRule, pace_hour, paces_from, state_of
from vm122_ops.store import stored_events as stored
from vm122_ops.store.db import Database
from vm122_ops.store.sql import QUERIES


@dataclass(frozen=True, slots=True)
class _Reading:
    funnel: Funnel
    fresh: Histograms | None  # the whole hours' durations, when read from SQL
    fresh_pace: Histograms | None  # the last 7 days' durations (states), when read


def compute(conn: sqlite3.Connection, window: Window, rule: StateRule | None = None) -> Funnel:
    """The funnel of ``window``, every part read from SQL (a read function: run it with
    ``db.read``). ``read_funnel`` is the same with the durations cache."""
    return _read(conn, window, None, None, rule or StateRule()).funnel


async def read_funnel(
    db: Database, window: Window, cache: DurationCache, rule: StateRule | None = None
) -> Funnel:
    """The funnel of ``window`` in one read, the whole hours' durations (of the window,
    and of the last 7 days for the active sessions' states) from ``cache``."""
    hour = window.first_whole_hour
    paced = pace_hour(window.now_ms)
    cached_pace = cache.get(paced) if paced != hour else None
    reading = await db.read(_read, window, cache.get(hour), cached_pace, rule or StateRule())
    if reading.fresh is not None:
        cache.put(hour, reading.fresh, reading.funnel.last_event_id)
    if reading.fresh_pace is not None and paced != hour:
        cache.put(paced, reading.fresh_pace, reading.funnel.last_event_id)
    return reading.funnel


def _read(
    conn: sqlite3.Connection,
    window: Window,
    cached: Histograms | None,
    cached_pace: Histograms | None,
    rule: StateRule,
) -> _Reading:
    """Runs on a reader thread inside one snapshot; ``cached`` and ``cached_pace`` are
    private copies."""
    hour = window.first_whole_hour
    # The newest event this snapshot includes: a live client re-applies the newer ones.
    last_event_id = stored.head(conn)
    fresh = None
    if cached is None:
        fresh = durations_since(conn, hour)
        # A copy: the partial hour is added below, and the one to cache stays as it is.
        steps = {step: Counter(histogram) for step, histogram in fresh.items()}
    else:
        steps = cached
    # The steps' paces over the last 7 days (the active sessions' states), before the
    # partial hour is added to ``steps``.
    paced = pace_hour(window.now_ms)
    fresh_pace = None
    if paced == hour:
        pace_steps = fresh if fresh is not None else cached
    elif cached_pace is None:
        pace_steps = fresh_pace = durations_since(conn, paced)
    else:
        pace_steps = cached_pace
    assert pace_steps is not None
    paces = paces_from(pace_steps, rule)
    cells: Cells = Counter()
    for row in conn.execute(QUERIES["rollup_since"], {"hour": hour}):
        cells[(row["stage"], row["status"])] += row["sessions"]
    # The window's partial first hour, summed in SQL from the covering index.
    partial = {"since": window.since_ms, "until": hour * HOUR_MS}
    for row in conn.execute(QUERIES["partial_hour"], partial):
        if row["kind"] == "stage":
            cells[(row["key"], row["value"])] += row["sessions"]
        else:
            steps[row["key"]][row["value"]] += row["sessions"]
    failed_steps: Counter[int] = Counter()
    for row in conn.execute(QUERIES["failed_steps_since"], {"hour": hour}):
        failed_steps[row["step"]] += row["sessions"]
    for row in conn.execute(QUERIES["partial_hour_failed_steps"], partial):
        failed_steps[row["step"]] += row["sessions"]
    active_params = {"since": window.since_ms, "limit": ACTIVE_LIMIT}
    active = []
    for row in conn.execute(QUERIES["active_sessions"], active_params):
        session = ActiveSession.from_row(row)
        state, idle = state_of(session.stage, session.last_event_at, window.now_ms, paces, rule)
        active.append(session.at(state, idle))
    refusals = refusals_since(conn, hour)
    for row in conn.execute(QUERIES["partial_hour_refusals"], partial):
        refusals[row["code"]] += row["sessions"]
    funnel = build_funnel(window, cells, steps, active, last_event_id, failed_steps, refusals)
    span = cohort.CohortWindow(since_ms=window.since_ms, now_ms=window.now_ms)
    stopped = cohort.stopped_counts(conn, span, paces, rule, cells, failed_steps)
    previous = previous_from(window, previous_cells(conn, window))
    return _Reading(replace(funnel, stopped=stopped, previous=previous), fresh, fresh_pace)


def previous_cells(conn: sqlite3.Connection, window: Window) -> Cells:
    """The (stage, status) cells of the previous window (``Previous``), read from SQL."""
    from_hour, until_hour, since, _ = previous_bounds(window)
    cells: Cells = Counter()
    for row in conn.execute(QUERIES["rollup_between"], {"hour": from_hour, "until": until_hour}):
        cells[(row["stage"], row["status"])] += row["sessions"]
    for low, high in ((since, from_hour * HOUR_MS), (until_hour * HOUR_MS, window.since_ms)):
        for row in conn.execute(QUERIES["partial_hour"], {"since": low, "until": high}):
            if row["kind"] == "stage":
                cells[(row["key"], row["value"])] += row["sessions"]
    return cells
