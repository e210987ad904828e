"""Conversion over time: per period, the sessions that entered and how many of them
completed or failed (issue 12, item 4; docs/webhook-funnel-events.md, "The trend").

A session *entered* a period when its first event is in it (the funnel's cohort rule, in
whole hours of event time); it counts as completed or failed by its status now. Periods
are clock hours (UTC) for ranges up to 72 hours and UTC days above, the last one the
current, partial one. A period is *open* while its sessions may still convert: it ends
less than ``OPS_ABANDON_HOURS`` ago (an active session is abandoned only after that). The
series sums the funnel rollup's (hour, status) cells, so its cost grows with the hours of
the range, never with sessions or events; those sums are kept in memory per range and
first hour until new events commit (``answer``: measured on the bench stores, the 90-day
series read 1.1 ms at 10k events and 4.3 ms at 100k, as the rollup's occupied hours
filled up; answered from memory it is the same at every size).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from vm122_ops.answers import Answers
from vm122_ops.events import format_ms
from vm122_ops.sql import QUERIES

if TYPE_CHECKING:
    from vm122_ops.db import Database

HOUR_MS = 3_600_000
MAX_HOURS = 2160
HOURLY_UP_TO = 72


@dataclass(frozen=True, slots=True)
class Period:
    start_ms: int
    entered: int
    completed: int
    failed: int
    open: bool

    def document(self) -> dict[str, Any]:
        return {
            "start": format_ms(self.start_ms),
            "entered": self.entered,
            "completed": self.completed,
            "failed": self.failed,
            "conversion": round(self.completed / self.entered, 4) if self.entered else None,
            "open": self.open,
        }


@dataclass(frozen=True, slots=True)
class Trend:
    hours: int
    period: str  # "hour" or "day"
    now_ms: int
    periods: list[Period]

    def document(self) -> dict[str, Any]:
        return {
            "window_hours": self.hours,
            "period": self.period,
            "generated_at": format_ms(self.now_ms),
            "periods": [period.document() for period in self.periods],
        }


@dataclass(frozen=True, slots=True)
class Counts:
    """What the series reads: per period, entered, completed and failed. The same for
    every ``now`` of the same first hour and stored events, so it is kept in memory
    (``answer``) until new events commit; only the open flags depend on the millisecond."""

    hours: int
    first_hour: int
    size: int  # hours per period
    cells: tuple[tuple[int, int, int], ...]  # entered, completed, failed


def shape(hours: int, now_ms: int) -> tuple[int, int, int]:
    """(hours per period, periods, first hour) of the series of ``hours`` ending now."""
    size = 1 if hours <= HOURLY_UP_TO else 24
    count = hours if size == 1 else -(-hours // 24)
    first_hour = ((now_ms // HOUR_MS) // size - count + 1) * size
    return size, count, first_hour


def counts(conn: sqlite3.Connection, hours: int, now_ms: int) -> Counts:
    """Read function: the periods' counts of the last ``hours`` hours (1-2160)."""
    size, count, first_hour = shape(hours, now_ms)
    cells = [[0, 0, 0] for _ in range(count)]  # entered, completed, failed
    for row in conn.execute(QUERIES["trend_since"], {"hour": first_hour}):
        index = (int(row["hour"]) - first_hour) // size
        if not 0 <= index < count:
            continue  # a session whose first event is after now (clock skew)
        sessions = int(row["sessions"])
        cells[index][0] += sessions
        if row["status"] == "completed":
            cells[index][1] += sessions
        elif row["status"] == "failed":
            cells[index][2] += sessions
    return Counts(hours, first_hour, size, tuple((e, c, f) for e, c, f in cells))


def build(found: Counts, now_ms: int, abandon_hours: int) -> Trend:
    """The trend at ``now_ms`` from its counts: a period is open while it ends less than
    ``abandon_hours`` before now."""
    open_after = now_ms - abandon_hours * HOUR_MS
    periods = []
    for index, (entered, completed, failed) in enumerate(found.cells):
        start = (found.first_hour + index * found.size) * HOUR_MS
        end = start + found.size * HOUR_MS
        periods.append(Period(start, entered, completed, failed, open=end > open_after))
    return Trend(found.hours, "hour" if found.size == 1 else "day", now_ms, periods)


def series(conn: sqlite3.Connection, hours: int, now_ms: int, abandon_hours: int) -> Trend:
    """Read function: the trend of the last ``hours`` hours (1-2160), computed now."""
    return build(counts(conn, hours, now_ms), now_ms, abandon_hours)


async def answer(
    db: Database,
    answers: Answers[tuple[int, int], Counts],
    hours: int,
    now_ms: int,
    abandon_hours: int,
) -> Trend:
    """The trend of the last ``hours`` hours at ``now_ms``: its counts kept per (hours,
    first hour) until new events commit, read once per burst (vm122_ops/answers.py)."""
    first_hour = shape(hours, now_ms)[2]
    found = await answers.get((hours, first_hour), lambda: db.read(counts, hours, now_ms))
    return build(found, now_ms, abandon_hours)
