"""Mail readiness: what a session's ``mail.checked`` events say about its domain's mail.

The Portal checks the domain's records as the world's DNS shows them and sends
``mail.checked`` on the first check and whenever the result changes (docs/portal.md,
"Mail check"). Ops keeps one row per session in ``session_mail``, derived at each such
event from all of the session's stored checks, so any arrival order ends the same: the
newest check (event time, then row id) says whether the mail is ready and what is
missing; ``not_ready_since`` is the time of the first check of the newest run of
not-ready checks (how long the mail has been waiting).

The ticket's tag follows the newest check: ``mail_ready`` or ``mail_pending``, never both
(vm122_ops/tickets/ticket.py). The Desk reads ``readiness`` beside the funnel: the window's
completed sessions, how many have working mail, and the list of those that do not.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

import orjson

from servicekit.sqlfiles import Queries
from vm122_ops.ingest.events import format_ms
from vm122_ops.store.sql import QUERIES

LIST_LIMIT = 500  # sessions listed at most; the count is always whole
HOUR_MS = 3_600_000


@dataclass(frozen=True, slots=True)
class MailState:
    ready: bool
    items: list[dict[str, Any]]
    checked_at: int
    first_checked_at: int
    not_ready_since: int | None
    checks: int


def derive(rows: list[sqlite3.Row]) -> MailState | None:
    """The state of a session's mail from its mail.checked rows in (occurred_at, id)
    order; None when there are none."""
    if not rows:
        return None
    since: int | None = None
    newest: dict[str, Any] = {}
    for row in rows:
        data = orjson.loads(row["payload"]).get("data", {})
        newest = data
        if data.get("ready") is True:
            since = None
        elif since is None:
            since = int(row["occurred_at"])
    return MailState(
        ready=newest.get("ready") is True,
        items=[i for i in newest.get("items", []) if isinstance(i, dict)],
        checked_at=int(rows[-1]["occurred_at"]),
        first_checked_at=int(rows[0]["occurred_at"]),
        not_ready_since=since,
        checks=len(rows),
    )


def record(conn: sqlite3.Connection, queries: Queries, session_id: str) -> MailState | None:
    """Derive and store the session's mail state from all its stored checks (inside the
    ingest unit of work of a mail.checked event)."""
    rows = conn.execute(queries["session_mail_checks"], {"session_id": session_id}).fetchall()
    state = derive(rows)
    if state is None:
        return None
    conn.execute(
        queries["upsert_session_mail"],
        {
            "session_id": session_id,
            "ready": int(state.ready),
            "items": orjson.dumps(state.items).decode(),
            "checked_at": state.checked_at,
            "check_row": int(rows[-1]["id"]),
            "first_checked_at": state.first_checked_at,
            "not_ready_since": state.not_ready_since,
            "checks": state.checks,
        },
    )
    return state


def ready_of(conn: sqlite3.Connection, queries: Queries, session_id: str) -> bool | None:
    """Whether the session's newest mail check was ready; None when it has none."""
    row = conn.execute(queries["get_session_mail"], {"session_id": session_id}).fetchone()
    return None if row is None else bool(row["ready"])


@dataclass(frozen=True, slots=True)
class NotReady:
    session_id: str
    domain: str
    ticket_id: int | None
    completed_at: int | None
    checked_at: int
    not_ready_since: int
    checks: int
    missing: list[dict[str, Any]]  # the items not ok, as the newest check gave them

    def document(self, now_ms: int) -> dict[str, Any]:
        return {
            "session_id": self.session_id,
            "domain": self.domain,
            "ticket_id": self.ticket_id,
            "completed_at": None if self.completed_at is None else format_ms(self.completed_at),
            "checked_at": format_ms(self.checked_at),
            "not_ready_since": format_ms(self.not_ready_since),
            "waiting_seconds": max(0, (now_ms - self.not_ready_since) // 1000),
            "checks": self.checks,
            "missing": self.missing,
        }


@dataclass(frozen=True, slots=True)
class Readiness:
    """The window's completed sessions and their mail (the Desk's card beside the funnel)."""

    hours: int
    now_ms: int
    completed: int
    ready: int
    not_ready: int
    unchecked: int
    sessions: list[NotReady]

    def document(self) -> dict[str, Any]:
        return {
            "hours": self.hours,
            "completed": self.completed,
            "mail_ready": self.ready,
            "mail_not_ready": self.not_ready,
            "unchecked": self.unchecked,
            "listed": len(self.sessions),
            "sessions": [s.document(self.now_ms) for s in self.sessions],
        }


def readiness(conn: sqlite3.Connection, hours: int, now_ms: int) -> Readiness:
    """A read function (``db.read``): the counts and the not-ready list of the window
    (sessions whose first event is in the last ``hours``, as the funnel's cohort)."""
    window = {"since": now_ms - hours * HOUR_MS, "now": now_ms}
    counts = conn.execute(QUERIES["mail_readiness_counts"], window).fetchone()
    rows = conn.execute(QUERIES["mail_not_ready"], {**window, "limit": LIST_LIMIT})
    listed = [
        NotReady(
            session_id=row["session_id"],
            domain=row["domain"],
            ticket_id=row["ticket_id"],
            completed_at=row["completed_at"],
            checked_at=row["checked_at"],
            not_ready_since=row["not_ready_since"]
            if row["not_ready_since"] is not None
            else row["checked_at"],
            checks=row["checks"],
            missing=[i for i in orjson.loads(row["items"]) if i.get("status") != "ok"],
        )
        for row in rows
    ]
    completed, checked, ready = (int(counts[k]) for k in ("completed", "checked", "ready"))
    return Readiness(
        hours=hours,
        now_ms=now_ms,
        completed=completed,
        ready=ready,
        not_ready=checked - ready,
        unchecked=completed - checked,
        sessions=listed,
    )
