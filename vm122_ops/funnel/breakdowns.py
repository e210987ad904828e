"""The funnel split by what the Portal knows of a session (docs/webhook-funnel-events.md,
"Breakdowns"): its DNS mode, what its zone's mail pointed to before, the wizard's
language and the Portal's release (``servicekit.contract.BREAKDOWNS``).

Ingest keeps each session's values on its row (``Props``: ``language`` and ``release``
from its onboarding.started, ``dns_mode`` and ``previous_provider`` from its dns.applied;
of several events of one kind the newest by event time, then row id, so any arrival order
ends the same) and one ``breakdown_rollup`` cell per dimension: (dimension, hour of the
first event, value, furthest stage, status), moved like ``funnel_rollup``'s cell
(vm122_ops/funnel/rollups.py) whenever the session's state or values change. A session
without a value is in the cell of value '' (unknown), so each dimension's cells sum to
the funnel's.

A split is read as the funnel is: the window's whole hours from the cells, its partial
first hour from the sessions (``BreakdownBasis``, kept per dimension, hours and first
whole hour while the database is the same). Its groups are the ``top`` values with the
most started sessions (ties: by value), then ``other`` (every other value) and
``unknown``, so the groups always sum to the whole funnel (``total``).

A group's sessions are the drill-down's (``GroupFilter``, read by
vm122_ops/funnel/cohort.py): a named value's are the sessions with that value whether or
not it is in the top, ``unknown``'s those without one, and ``other``'s those whose value
is not among the top values of the split of the same window and ``top``, so each list's
total is the split's count of that group.
"""

from __future__ import annotations

import re
import sqlite3
from bisect import bisect_left
from collections import Counter
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar

from servicekit.contract import BREAKDOWNS, DNS_MODES, LANGUAGES, PREVIOUS_PROVIDERS, RELEASE
from servicekit.envelope import ok_body
from servicekit.sqlfiles import Queries
from vm122_ops.errors import BadRequest
from vm122_ops.funnel.rollups import HOUR_MS, Cells, Window, build_funnel, rollup_key
from vm122_ops.ingest.events import STAGE_TYPES, Event, format_ms
from vm122_ops.ingest.session_fold import SessionState
from vm122_ops.kept.memo import Memo
from vm122_ops.store import stored_events as stored
from vm122_ops.store.sql import QUERIES

if TYPE_CHECKING:
    from vm122_ops.store.db import Database

UNKNOWN = ""  # the stored value of a session without one
DEFAULT_TOP = 5
MAX_TOP = 20
K = TypeVar("K", bound=Hashable)
GroupKind = Literal["value", "other", "unknown"]
GROUP_KINDS: tuple[GroupKind, ...] = ("value", "other", "unknown")
STARTED_TYPE = STAGE_TYPES[0]  # onboarding.started: language, release
DNS_TYPE = STAGE_TYPES[2]  # dns.applied: mode, previous_provider
# The values a session's property can have (what ingest accepts: vm122_ops/ingest/events.py).
VALUES: dict[str, tuple[str, ...] | re.Pattern[str]] = {
    "dns_mode": DNS_MODES,
    "previous_provider": PREVIOUS_PROVIDERS,
    "language": LANGUAGES,
    "release": RELEASE,
}
# The groups the drill-down names by kind (a named value is ``value=``).
UNNAMED_GROUPS = ("other", "unknown")


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


@dataclass(frozen=True, slots=True)
class Props:
    """A session's breakdown values (None: unknown) and the (event time, row id) of the
    event of each kind that gave them."""

    dns_mode: str | None = None
    previous_provider: str | None = None
    language: str | None = None
    release: str | None = None
    started_from: tuple[int, int] | None = None
    dns_from: tuple[int, int] | None = None

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Props:
        started = row["started_props_at"]
        dns = row["dns_props_at"]
        return cls(
            dns_mode=row["dns_mode"],
            previous_provider=row["previous_provider"],
            language=row["language"],
            release=row["release"],
            started_from=None if started is None else (started, row["started_props_row"]),
            dns_from=None if dns is None else (dns, row["dns_props_row"]),
        )

    def value(self, dimension: str) -> str:
        """The value of ``dimension`` as the rollup stores it ('' when unknown)."""
        found: str | None = getattr(self, dimension)
        return UNKNOWN if found is None else found

    def values(self) -> dict[str, str]:
        return {dimension: self.value(dimension) for dimension in BREAKDOWNS}

    def to_params(self, session_id: str) -> dict[str, Any]:
        started, dns = self.started_from or (None, None), self.dns_from or (None, None)
        return {
            "session_id": session_id,
            "dns_mode": self.dns_mode,
            "previous_provider": self.previous_provider,
            "language": self.language,
            "release": self.release,
            "started_props_at": started[0],
            "started_props_row": started[1],
            "dns_props_at": dns[0],
            "dns_props_row": dns[1],
        }


def fold_props(props: Props | None, event: Event, row_id: int) -> Props:
    """The session's values once ``event`` (stored as ``row_id``) is included: an
    onboarding.started or dns.applied newer than the one that gave that kind's values
    replaces them (a field it lacks becomes unknown); other events change nothing. The
    values were validated by ``vm122_ops.ingest.events.parse_event``."""
    props = props or Props()
    at = (event.occurred_at, row_id)
    data = event.data
    if event.event_type == STARTED_TYPE and (props.started_from is None or at > props.started_from):
        return replace(
            props,
            language=_text(data.get("language")),
            release=_text(data.get("release")),
            started_from=at,
        )
    if event.event_type == DNS_TYPE and (props.dns_from is None or at > props.dns_from):
        return replace(
            props,
            dns_mode=_text(data.get("mode")),
            previous_provider=_text(data.get("previous_provider")),
            dns_from=at,
        )
    return props


def record(
    conn: sqlite3.Connection,
    queries: Queries,
    old: SessionState | None,
    new: SessionState,
    old_props: Props | None,
    new_props: Props,
) -> None:
    """Move the session's breakdown_rollup cells (one per dimension) from ``old`` to
    ``new``. Its values themselves are written with its row (``Props.to_params`` in
    ``upsert_session``: vm122_ops/ingest/storing.py)."""
    hour, stage, status = rollup_key(new)
    params: dict[str, Any] = {"hour": hour, "stage": stage, "status": status}
    params.update(new_props.values())
    if old is None:
        conn.execute(queries["add_breakdowns"], params)
        return
    old_key = rollup_key(old)
    old_values = (old_props or Props()).values()
    if old_key == (hour, stage, status) and old_values == new_props.values():
        return
    params.update(old_hour=old_key[0], old_stage=old_key[1], old_status=old_key[2])
    params.update((f"old_{dimension}", value) for dimension, value in old_values.items())
    conn.execute(queries["move_breakdowns"], params)


# --- reading a split --------------------------------------------------------------------


def requested_value(dimension: str, raw: str) -> str:
    """?value=: a value ``dimension`` can have (as the split names a group), else a 400."""
    allowed = VALUES[dimension]
    if isinstance(allowed, tuple):
        if raw in allowed:
            return raw
        raise BadRequest(
            f"value for {dimension} must be one of {', '.join(allowed)} "
            "(the other values and the unknown ones are group=other and group=unknown)"
        )
    if allowed.match(raw):
        return raw
    raise BadRequest(
        f"value for {dimension} must be a release such as 1.4.0: 1-32 characters, a digit "
        "first, then digits, letters and . + -"
    )


@dataclass(frozen=True, slots=True)
class GroupFilter:
    """One group of a split as the drill-down names it: a value (``kind`` value), the
    values past the ``top`` (other) or no value (unknown)."""

    dimension: str
    kind: GroupKind
    value: str | None = None  # kind value only
    top: int = DEFAULT_TOP  # kind other only: the split whose top values it leaves out


@dataclass(frozen=True, slots=True)
class GroupMembers:
    """A group's sessions in one window: its cells (the split's counts) and how its
    sessions' stored values are matched: among ``values`` ('' unknown) when ``inside``,
    else not among them."""

    cells: Cells
    values: tuple[str, ...]
    inside: bool

    def count(self, status: str) -> int:
        """The group's sessions of the funnel status ``status`` (refused apart), or for
        ``started`` those that reached the started stage (the split's ``stages.started``)."""
        if status == "started":
            return started(self.cells)
        return sum(n for (_, found), n in self.cells.items() if found == status)


def started(cells: Cells) -> int:
    """The sessions of ``cells`` that reached the started stage (a stage >= 0)."""
    return sum(count for (stage, _), count in cells.items() if stage >= 0)


@dataclass(frozen=True, slots=True)
class Group(Generic[K]):
    """One group of a split: a value, the other values, or the sessions without one;
    ``cells`` its sessions by whatever the split counts ((stage, status) for the funnel)."""

    kind: GroupKind
    value: str | None
    values: int  # how many values it holds (1, the other values' number, 0 for unknown)
    cells: Counter[K]


def grouped(
    by_value: Mapping[str, Counter[K]], top: int, rank: Callable[[Counter[K]], int]
) -> list[Group[K]]:
    """The ``top`` values by ``rank`` (most first, ties by value), then the other values
    summed, then the unknown: always both, zero when empty."""
    known = [(value, cells) for value, cells in by_value.items() if value != UNKNOWN]
    known = [(value, cells) for value, cells in known if sum(cells.values()) > 0]
    known.sort(key=lambda item: (-rank(item[1]), item[0]))
    groups = [Group("value", value, 1, cells) for value, cells in known[:top]]
    other: Counter[K] = Counter()
    for _, cells in known[top:]:
        other.update(cells)
    groups.append(Group("other", None, len(known[top:]), other))
    groups.append(Group("unknown", None, 0, by_value.get(UNKNOWN, Counter())))
    return groups


def figures(window: Window, cells: Cells) -> dict[str, Any]:
    """A group's funnel figures, as the funnel's (``build_funnel``): cohort, stages
    reached, completed, failed, refused, and conversion (of the sessions started and not
    refused)."""
    counted = build_funnel(window, cells, {}, [])
    return {
        "cohort": counted.cohort,
        "stages": counted.stages,
        "completed": counted.stages["completed"],
        "failed": counted.failed,
        "refused": counted.refused,
        "conversion": counted.conversion,
    }


@dataclass(frozen=True, slots=True)
class Breakdown:
    """The funnel of one window split by one dimension."""

    dimension: str
    window: Window
    top: int
    groups: list[Group[tuple[int, str]]]

    def document(self) -> dict[str, Any]:
        total: Cells = Counter()
        for group in self.groups:
            total.update(group.cells)
        return {
            "by": self.dimension,
            "window_hours": self.window.hours,
            "since": format_ms(self.window.since_ms),
            "generated_at": format_ms(self.window.now_ms),
            "top": self.top,
            "total": figures(self.window, total),
            "groups": [
                {
                    "value": group.value,
                    "kind": group.kind,
                    "values": group.values,
                    **figures(self.window, group.cells),
                }
                for group in self.groups
            ],
        }


@dataclass(frozen=True, slots=True)
class BreakdownBasis:
    """What every window of ``hours`` with first whole hour H needs, read in one snapshot:
    the whole hours' cells by value, and the sessions first seen in hour H - 1 (oldest
    first; a window's partial first hour is their suffix from its ``since``)."""

    dimension: str
    hours: int
    first_whole_hour: int
    cells: dict[str, Cells]
    early: tuple[tuple[str, int, str], ...]  # value, stage, status; oldest first
    early_starts: tuple[int, ...]  # their first events, for bisection
    last_event_id: int = 0  # the newest event of the snapshot it was read in
    _stretch: list[int] = field(default_factory=lambda: [0, 0])

    def size(self) -> int:
        """About what keeping this basis costs, in bytes (``Memo``'s cap): per value its
        text and counter, per cell its key and count, per session of the partial hour its
        row and start; every text is an object of its own, as read from SQLite. Errs
        above (tests/ops/test_memo_objects.py)."""
        cells = sum(len(by_cell) for by_cell in self.cells.values())
        return 1024 + 400 * len(self.cells) + 180 * cells + 256 * len(self.early)

    def split(self, now_ms: int, top: int) -> Breakdown:
        """The split of the window of ``hours`` ending at ``now_ms`` (same start hour)."""
        window = Window(hours=self.hours, now_ms=now_ms)
        by_value = self._by_value(window)
        return Breakdown(self.dimension, window, top, grouped(by_value, top, started))

    def members(self, now_ms: int, group: GroupFilter) -> GroupMembers:
        """The sessions of ``group`` in the window of ``hours`` ending at ``now_ms``: for
        other, of the values past the top ``group.top`` of this split."""
        by_value = self._by_value(Window(hours=self.hours, now_ms=now_ms))
        if group.kind == "value":
            assert group.value is not None
            return GroupMembers(by_value.get(group.value, Counter()), (group.value,), True)
        if group.kind == "unknown":
            return GroupMembers(by_value.get(UNKNOWN, Counter()), (UNKNOWN,), True)
        groups = grouped(by_value, group.top, started)
        named = tuple(found.value for found in groups if found.value is not None)
        other = next(found for found in groups if found.kind == "other")
        return GroupMembers(other.cells, (*named, UNKNOWN), False)

    def _by_value(self, window: Window) -> dict[str, Cells]:
        assert window.first_whole_hour == self.first_whole_hour
        by_value = {value: Counter(cells) for value, cells in self.cells.items()}
        for value, stage, status in self.early[bisect_left(self.early_starts, window.since_ms) :]:
            by_value.setdefault(value, Counter())[(stage, status)] += 1
        return by_value

    def holds_until(self, now_ms: int) -> int:
        """The first millisecond after ``now_ms`` at which the split may differ in anything
        but its window's bounds: the window's start passing the first event of the next
        session of its partial hour, or the next hour (then it is another basis's)."""
        start, until = self._stretch
        if start <= now_ms < until:
            return until
        span = self.hours * HOUR_MS
        until = self.first_whole_hour * HOUR_MS + span + 1
        first = bisect_left(self.early_starts, now_ms - span)
        if first < len(self.early_starts):
            until = min(until, self.early_starts[first] + span + 1)
        self._stretch[:] = [now_ms, until]
        return until


def read_basis(conn: sqlite3.Connection, dimension: str, window: Window) -> BreakdownBasis:
    """Read function: the basis of ``window``'s hours and first whole hour for ``dimension``
    (one of ``BREAKDOWNS``: it names a column of the partial hour's rows)."""
    hour = window.first_whole_hour
    cells: dict[str, Cells] = {}
    found = conn.execute(QUERIES["breakdown_since"], {"dimension": dimension, "hour": hour})
    for row in found:
        cells.setdefault(row["value"], Counter())[(row["stage"], row["status"])] += row["sessions"]
    bounds = {"since": (hour - 1) * HOUR_MS, "until": hour * HOUR_MS}
    rows = conn.execute(QUERIES["breakdown_partial_hour"], bounds).fetchall()
    return BreakdownBasis(
        dimension=dimension,
        hours=window.hours,
        first_whole_hour=hour,
        cells=cells,
        early=tuple((row[dimension], row["stage"], row["status"]) for row in rows),
        early_starts=tuple(row["first_event_at"] for row in rows),
        last_event_id=stored.head(conn),
    )


async def kept_basis(
    db: Database, memo: Memo, dimension: str, window: Window, stamp: int | None = None
) -> BreakdownBasis:
    """The basis of ``window``'s hours and first whole hour for ``dimension``, kept while
    the database is the same (the split and the drill-down's groups share it). ``stamp``:
    the database's stamp when the caller took it (else taken now)."""
    return await memo.get(
        ("breakdown basis", dimension, window.hours, window.first_whole_hour),
        db.data_version() if stamp is None else stamp,
        lambda: db.read(read_basis, dimension, window),
        BreakdownBasis.size,
    )


async def answer_text(db: Database, memo: Memo, dimension: str, window: Window, top: int) -> bytes:
    """The split as the JSON the API sends: the basis kept per (dimension, hours, first
    whole hour) while the database is the same, the answer until its next boundary (the
    split at the millisecond it was computed, its ``generated_at``)."""
    stamp = db.data_version()
    basis = await kept_basis(db, memo, dimension, window, stamp)
    now_ms = window.now_ms
    return await memo.get(
        ("breakdown", dimension, window.hours, window.first_whole_hour, top),
        None if stamp is None else (stamp, basis.holds_until(now_ms)),
        lambda: _body(basis, now_ms, top),
    )


async def _body(basis: BreakdownBasis, now_ms: int, top: int) -> bytes:
    return ok_body(**basis.split(now_ms, top).document())
