"""Conversion over time: per period, the sessions that entered and how many of them
completed or failed (docs/webhook-funnel-events.md, "The trend").

A session *entered* a period when its first event is in it (the funnel's cohort rule, in
whole hours of event time); it counts as completed, failed or refused by its status now
(a refused attempt, docs/desk.md "Session states", is left out of the conversion's
denominator, as in the funnel: conversion = completed / (entered - refused)). Periods
are clock hours (UTC) for ranges up to 72 hours and UTC days above, the last one the
current, partial one. A period is *open* while its sessions may still convert: it ends
less than ``OPS_ABANDON_HOURS`` ago (an active session is abandoned only after that). The
series sums the funnel rollup's (hour, status) cells, so its cost grows with the hours of
the range, never with sessions or events; those sums are kept in memory per range and
first hour until new events commit (``kept_counts``), since a long range's read grows as
the rollup's occupied hours fill up, and one answered from memory costs the same at every
size.

The answer's JSON and CSV are kept too (``answer_text``, ``answer_csv``), per range, while
the database is the same and until the next moment the series may change: its first
period moving (a new hour, or a new day for daily periods) or a period closing (the
first open period moving). Between two such moments only the clock moves, so a kept
answer is the series at the millisecond it was computed, its ``generated_at``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from servicekit.envelope import ok_body
from vm122_ops.ingest.events import format_ms
from vm122_ops.kept.memo import Memo
from vm122_ops.store.sql import QUERIES
from vm122_ops.tickets.export import csv_bytes

if TYPE_CHECKING:
    from vm122_ops.store.db import Database

HOUR_MS = 3_600_000
MAX_HOURS = 2160
HOURLY_UP_TO = 72
# A period of the series: an hour up to HOURLY_UP_TO hours, a day above.
PERIODS = ("hour", "day")
# The CSV's columns: the JSON periods' fields, ``refused`` last (added after the others, so
# a program reading the columns by position still finds them).
CSV_HEADER = ("start", "entered", "completed", "failed", "conversion", "open", "refused")


@dataclass(frozen=True, slots=True)
class Period:
    start_ms: int
    entered: int
    completed: int
    failed: int
    refused: int
    open: bool

    def document(self) -> dict[str, Any]:
        return _document(
            self.start_ms, self.entered, self.completed, self.failed, self.refused, self.open
        )


def _document(
    start_ms: int, entered: int, completed: int, failed: int, refused: int, open_: bool
) -> dict[str, Any]:
    attempts = entered - refused  # refused attempts never had a domain to onboard
    return {
        "start": format_ms(start_ms),
        "entered": entered,
        "completed": completed,
        "failed": failed,
        "refused": refused,
        "conversion": round(completed / attempts, 4) if attempts else None,
        "open": open_,
    }


@dataclass(frozen=True)
class Counts:
    """What the series reads: per period, entered, completed, failed and refused. The same for
    every ``now`` of the same first hour and stored events, so it is kept in memory
    (``answer``) until new events commit; only the open flags depend on the millisecond."""

    hours: int
    first_hour: int
    size: int  # hours per period
    cells: tuple[tuple[int, int, int, int], ...]  # entered, completed, failed, refused
    # Each period's document closed and open, rendered on first use: a kept answer then
    # only picks where the open periods begin (rendering was most of its cost).
    _rendered: list[tuple[dict[str, Any], ...]] = field(default_factory=list)

    def kept_size(self) -> int:
        """About what keeping these counts costs, in bytes, once an answer has rendered
        their periods: per period its counts and two documents (closed and open), each a
        dict of seven fields with its own start text and conversion. Errs above: counts
        below 256 are integers Python shares (tests/ops/test_memo_objects.py)."""
        return 1024 + 1100 * len(self.cells)

    def start_ms(self, index: int) -> int:
        return (self.first_hour + index * self.size) * HOUR_MS

    def rendered(self, open_: bool) -> tuple[dict[str, Any], ...]:
        if not self._rendered:
            for flag in (False, True):
                self._rendered.append(
                    tuple(
                        _document(self.start_ms(index), *cell, flag)
                        for index, cell in enumerate(self.cells)
                    )
                )
        return self._rendered[int(open_)]


@dataclass(frozen=True, slots=True)
class Trend:
    counts: Counts
    now_ms: int
    open_from: int  # the first open period: it ends less than the abandonment time ago

    @property
    def hours(self) -> int:
        return self.counts.hours

    @property
    def period(self) -> str:
        return "hour" if self.counts.size == 1 else "day"

    @property
    def periods(self) -> list[Period]:
        return [
            Period(self.counts.start_ms(index), *cell, open=index >= self.open_from)
            for index, cell in enumerate(self.counts.cells)
        ]

    def document(self) -> dict[str, Any]:
        at = self.open_from
        return {
            "window_hours": self.hours,
            "period": self.period,
            "generated_at": format_ms(self.now_ms),
            "periods": [*self.counts.rendered(False)[:at], *self.counts.rendered(True)[at:]],
        }


def shape(hours: int, now_ms: int) -> tuple[int, int, int]:
    """(hours per period, periods, first hour) of the series of ``hours`` ending now."""
    size = 1 if hours <= HOURLY_UP_TO else 24
    count = hours if size == 1 else -(-hours // 24)
    first_hour = ((now_ms // HOUR_MS) // size - count + 1) * size
    return size, count, first_hour


def counts(conn: sqlite3.Connection, hours: int, now_ms: int) -> Counts:
    """Read function: the periods' counts of the last ``hours`` hours (1-2160)."""
    size, count, first_hour = shape(hours, now_ms)
    cells = [[0, 0, 0, 0] for _ in range(count)]  # entered, completed, failed, refused
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
        elif row["status"] == "refused":
            cells[index][3] += sessions
    return Counts(hours, first_hour, size, tuple((e, c, f, r) for e, c, f, r in cells))


def first_open(size: int, count: int, first_hour: int, now_ms: int, abandon_hours: int) -> int:
    """The index of the first open period of the series ``shape`` gives at ``now_ms``
    (``count``: none is open): a period is open while it ends less than
    ``abandon_hours`` before now, i.e. from the first period whose end is after that."""
    open_after = now_ms - abandon_hours * HOUR_MS
    length = size * HOUR_MS
    # Period i ends at first_hour + (i + 1) * length: after open_after from i = this on.
    found = (open_after - first_hour * HOUR_MS) // length
    return min(count, max(0, found))


def build(found: Counts, now_ms: int, abandon_hours: int) -> Trend:
    """The trend at ``now_ms`` from its counts."""
    size, count = found.size, len(found.cells)
    return Trend(found, now_ms, first_open(size, count, found.first_hour, now_ms, abandon_hours))


def series(conn: sqlite3.Connection, hours: int, now_ms: int, abandon_hours: int) -> Trend:
    """Read function: the trend of the last ``hours`` hours (1-2160), computed now."""
    return build(counts(conn, hours, now_ms), now_ms, abandon_hours)


async def kept_counts(
    db: Database, memo: Memo, hours: int, now_ms: int, stamp: int | None
) -> Counts:
    """The counts of the last ``hours`` hours at ``now_ms``, kept per (hours, first hour)
    while the database is the same (``stamp``, taken by the caller), read once per burst
    (vm122_ops/kept/memo.py)."""
    first_hour = shape(hours, now_ms)[2]
    return await memo.get(
        ("trend", hours, first_hour),
        stamp,
        lambda: db.read(counts, hours, now_ms),
        Counts.kept_size,
    )


async def answer_text(
    db: Database, memo: Memo, hours: int, now_ms: int, abandon_hours: int
) -> bytes:
    """GET /api/v1/onboard/trend's answer as the JSON the API sends, kept (see the
    module's docstring): the series at the millisecond it was computed."""
    return await _kept(db, memo, "trend text", hours, now_ms, abandon_hours, _json)


async def answer_csv(
    db: Database, memo: Memo, hours: int, now_ms: int, abandon_hours: int
) -> bytes:
    """GET /api/v1/onboard/trend.csv's body (``CSV_HEADER``, a row per period), kept as the
    JSON is."""
    return await _kept(db, memo, "trend csv", hours, now_ms, abandon_hours, _csv)


def _json(found: Trend) -> bytes:
    return ok_body(**found.document())


def _csv(found: Trend) -> bytes:
    return csv_bytes(CSV_HEADER, (period.document() for period in found.periods))


async def _kept(
    db: Database,
    memo: Memo,
    kind: str,
    hours: int,
    now_ms: int,
    abandon_hours: int,
    render: Callable[[Trend], bytes],
) -> bytes:
    """``render`` of the trend at ``now_ms``, kept per (kind, hours) under the database's
    stamp, the first hour and the first open period: what the series depends on but the
    clock's millisecond."""
    size, count, first_hour = shape(hours, now_ms)
    opened = first_open(size, count, first_hour, now_ms, abandon_hours)
    stamp = db.data_version()

    async def body() -> bytes:
        found = await kept_counts(db, memo, hours, now_ms, stamp)
        return render(Trend(found, now_ms, opened))

    return await memo.get(
        (kind, hours), None if stamp is None else (stamp, first_hour, opened), body
    )
