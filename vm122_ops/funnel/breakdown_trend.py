"""The trend split by a breakdown dimension (docs/webhook-funnel-events.md,
"Breakdowns"): per group of vm122_ops/funnel/breakdowns.py (the ``top`` values by
sessions entered in the range, then ``other`` and ``unknown``), the trend's periods
(vm122_ops/funnel/trend.py: same periods, entered, completed, failed and open flags), so
each period's groups sum to the trend's period.

Read from ``breakdown_rollup``'s cells from the range's first hour on, summed per period
and value in SQL: its cost grows with the hours and values of the range, never with
sessions or events.
The groups' counts are kept in memory per (dimension, range, first hour, top) until new
events commit, and the answer's JSON while the open periods stay the same too.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from servicekit.envelope import ok_body
from vm122_ops.funnel import trend
from vm122_ops.funnel.breakdowns import UNKNOWN, GroupKind, grouped
from vm122_ops.ingest.events import format_ms
from vm122_ops.kept.memo import Memo
from vm122_ops.store.sql import QUERIES

if TYPE_CHECKING:
    from vm122_ops.store.db import Database

# A value's counts: (period index, one of KINDS) -> sessions.
PeriodCells = Counter[tuple[int, str]]
KINDS = ("entered", "completed", "failed", "refused")


@dataclass(frozen=True, slots=True)
class SplitGroup:
    kind: GroupKind
    value: str | None
    values: int
    counts: trend.Counts

    @property
    def totals(self) -> tuple[int, ...]:
        """Entered, completed, failed and refused over the whole range."""
        return tuple(sum(column) for column in zip(*self.counts.cells, strict=True))


@dataclass(frozen=True, slots=True)
class SplitCounts:
    """What a trend split reads, kept until new events commit."""

    dimension: str
    top: int
    groups: tuple[SplitGroup, ...]

    def kept_size(self) -> int:
        return 1024 + sum(group.counts.kept_size() for group in self.groups)


def _entered(cells: PeriodCells) -> int:
    return sum(count for (_, kind), count in cells.items() if kind == "entered")


def split_counts(
    conn: sqlite3.Connection, dimension: str, hours: int, now_ms: int, top: int
) -> SplitCounts:
    """Read function: the groups' periods of the last ``hours`` hours (1-2160)."""
    size, count, first_hour = trend.shape(hours, now_ms)
    by_value: dict[str, PeriodCells] = {}
    params = {"dimension": dimension, "hour": first_hour, "size": size}
    for row in conn.execute(QUERIES["breakdown_trend_periods"], params):
        index = int(row["period"])
        if index >= count:
            continue  # a session whose first event is after now (clock skew)
        cells = by_value.setdefault(row["value"], Counter())
        for kind in KINDS:
            cells[(index, kind)] += int(row[kind])
    by_value.setdefault(UNKNOWN, Counter())
    found = []
    for group in grouped(by_value, top, _entered):
        cells = group.cells
        periods = tuple(
            (
                cells[(i, "entered")],
                cells[(i, "completed")],
                cells[(i, "failed")],
                cells[(i, "refused")],
            )
            for i in range(count)
        )
        counts = trend.Counts(hours, first_hour, size, periods)
        found.append(SplitGroup(group.kind, group.value, group.values, counts))
    return SplitCounts(dimension, top, tuple(found))


@dataclass(frozen=True, slots=True)
class TrendSplit:
    found: SplitCounts
    now_ms: int
    abandon_hours: int

    def document(self) -> dict[str, Any]:
        groups = []
        for group in self.found.groups:
            series = trend.build(group.counts, self.now_ms, self.abandon_hours)
            totals = dict(zip(KINDS, group.totals, strict=True))
            groups.append(
                {
                    "value": group.value,
                    "kind": group.kind,
                    "values": group.values,
                    **totals,
                    "periods": series.document()["periods"],
                }
            )
        first = self.found.groups[0].counts
        return {
            "by": self.found.dimension,
            "window_hours": first.hours,
            "period": "hour" if first.size == 1 else "day",
            "generated_at": format_ms(self.now_ms),
            "top": self.found.top,
            "groups": groups,
        }


async def answer_text(
    db: Database,
    memo: Memo,
    dimension: str,
    hours: int,
    top: int,
    now_ms: int,
    abandon_hours: int,
) -> bytes:
    """The trend split at ``now_ms`` as the JSON the API sends: its counts kept per
    (dimension, hours, first hour, top) while the database is the same, and its JSON
    while the open periods are the same too (vm122_ops/kept/memo.py): the split at the
    millisecond it was computed, its ``generated_at``."""
    first_hour = trend.shape(hours, now_ms)[2]
    key = (dimension, hours, first_hour, top)
    stamp = db.data_version()
    found = await memo.get(
        ("breakdown trend", *key),
        stamp,
        lambda: db.read(split_counts, dimension, hours, now_ms, top),
        SplitCounts.kept_size,
    )
    open_from = trend.build(found.groups[0].counts, now_ms, abandon_hours).open_from
    return await memo.get(
        ("breakdown trend text", *key),
        None if stamp is None else (stamp, open_from),
        lambda: _body(TrendSplit(found, now_ms, abandon_hours)),
    )


async def _body(split: TrendSplit) -> bytes:
    return ok_body(**split.document())
