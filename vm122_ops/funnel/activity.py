"""Recent activity at minute resolution, for the short windows of /metrics and the banner.

Ingest keeps ``activity_minutes``: a session counts as *started* in the minute of its
onboarding.started and *completed* in the minute of its onboarding.completed (moved if
an earlier copy of that event arrives later), and every stored onboarding.failed counts
once in its minute, with its step and code. ``refusal_minutes`` counts every stored
onboarding.started carrying a refusal (a refused attempt: docs/webhook-funnel-events.md)
once in its minute, with its refusal code, whatever the session does later: what /metrics
alerts on is how often the Portal refuses, not how many sessions are refused now.
``newest_events`` keeps the newest event time per type. Reading a window of W minutes sums
at most W x (kinds + codes) rows.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from dataclasses import dataclass, field

from servicekit.sqlfiles import Queries
from vm122_ops.ingest.events import COMPLETED_STAGE, EVENT_TYPES, Event
from vm122_ops.ingest.session_fold import SessionState
from vm122_ops.store.sql import QUERIES

MINUTE_MS = 60_000
WINDOWS_MINUTES = (15, 60)
KEEP_MINUTES = 2 * 24 * 60  # the retention job drops older minutes
STARTED_STAGE = 0


def record(
    conn: sqlite3.Connection,
    queries: Queries,
    old: SessionState | None,
    new: SessionState,
    event: Event,
    failed_step: int | None,
    code: str,
) -> None:
    """Fold one stored event into the minute cells (runs in the ingest unit of work)."""
    for kind, stage in (("started", STARTED_STAGE), ("completed", COMPLETED_STAGE)):
        before = None if old is None else old.stage_at[stage]
        after = new.stage_at[stage]
        if before == after:
            continue
        if before is not None:
            _bump(conn, queries, before // MINUTE_MS, kind, -1, "", -1)
        if after is not None:
            _bump(conn, queries, after // MINUTE_MS, kind, -1, "", 1)
    if failed_step is not None:
        _bump(conn, queries, event.occurred_at // MINUTE_MS, "failed", failed_step, code, 1)
    refusal = event.refusal_code
    if refusal is not None:
        minute = event.occurred_at // MINUTE_MS
        conn.execute(queries["bump_refused_attempt"], {"minute": minute, "code": refusal})
    conn.execute(
        queries["note_newest_event"],
        {"event_type": event.event_type, "occurred_at": event.occurred_at},
    )


def _bump(
    conn: sqlite3.Connection,
    queries: Queries,
    minute: int,
    kind: str,
    step: int,
    code: str,
    delta: int,
) -> None:
    conn.execute(
        queries["bump_activity"],
        {"minute": minute, "kind": kind, "step": step, "code": code, "delta": delta},
    )


@dataclass(frozen=True, slots=True)
class WindowActivity:
    """What happened in the last ``minutes`` (the current minute and the whole minutes
    before it, so a window covers between minutes - 1 and minutes of time)."""

    minutes: int
    started: int
    completed: int
    failed: int
    failures: Counter[tuple[int, str]]  # (step, code) -> failures
    refused: Counter[str] = field(default_factory=Counter)  # refusal code -> attempts

    @property
    def failure_ratio(self) -> float | None:
        """Failures per session started in the window; None when none started."""
        return self.failed / self.started if self.started else None


@dataclass(frozen=True, slots=True)
class RecentActivity:
    now_ms: int
    windows: tuple[WindowActivity, ...]  # one per WINDOWS_MINUTES, in that order
    newest_ms: dict[str, int]  # event type -> newest event time, for the types seen

    def window(self, minutes: int) -> WindowActivity:
        return next(w for w in self.windows if w.minutes == minutes)

    def seconds_since(self, event_type: str) -> float | None:
        newest = self.newest_ms.get(event_type)
        return None if newest is None else max(0.0, (self.now_ms - newest) / 1000)


def recent_activity(
    conn: sqlite3.Connection,
    now_ms: int,
    windows: tuple[int, ...] = WINDOWS_MINUTES,
) -> RecentActivity:
    """Read function (one snapshot): started, completed, failed and refused attempts over
    each window."""
    now_minute = now_ms // MINUTE_MS
    first = now_minute - max(windows) + 1
    rows = [
        (int(row["minute"]), row["kind"], int(row["step"]), row["code"], int(row["events"]))
        for row in conn.execute(QUERIES["activity_since"], {"minute": first})
    ]
    refusals = [
        (int(row["minute"]), str(row["code"]), int(row["attempts"]))
        for row in conn.execute(QUERIES["refused_attempts_since"], {"minute": first})
    ]
    result = []
    for minutes in windows:
        since = now_minute - minutes + 1
        refused: Counter[str] = Counter()
        for minute, code, attempts in refusals:
            if minute >= since:
                refused[code] += attempts
        totals: Counter[str] = Counter()
        failures: Counter[tuple[int, str]] = Counter()
        for minute, kind, step, code, events in rows:
            if minute < since:
                continue
            totals[kind] += events
            if kind == "failed":
                failures[(step, code)] += events
        result.append(
            WindowActivity(
                minutes=minutes,
                started=totals["started"],
                completed=totals["completed"],
                failed=totals["failed"],
                failures=+failures,
                refused=+refused,
            )
        )
    newest = {
        str(row["event_type"]): int(row["occurred_at"])
        for row in conn.execute(QUERIES["newest_events"])
        if row["event_type"] in EVENT_TYPES
    }
    return RecentActivity(now_ms=now_ms, windows=tuple(result), newest_ms=newest)
