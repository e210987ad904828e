"""What agents do with a ticket: its state, its assignee, its tags and notes, each change
an entry of the ticket's activity log (``ticket_activity``: who, when, what; never edited).

- States: open -> pending (waiting for the customer) -> resolved -> closed, set by agents
  along ``TRANSITIONS``; a new onboarding.failed on a resolved or closed ticket reopens it
  (actor "ops", the reason in the entry). Tags an event adds move the version, no entry.
- Safe concurrent edits: a change carries the version the agent saw; when the ticket has
  moved on, ``Conflict`` (answered 409 with the current ticket). Changes to the state, the
  assignee or the tags move the version; a note does not (notes never conflict).
- Every committed change is a ``TicketChange``, which the broker announces on the stream.

``detail`` (JSON) by kind: status ``{"from", "to", "reason"?}``, assignee ``{"from",
"to"}`` (account names or null), tags ``{"added": [...], "removed": [...], "reason"?}``,
note ``{"text"}``.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass, field, replace
from typing import Any

import orjson

from servicekit.sqlfiles import Queries
from vm122_ops.errors import BadRequest, Unprocessable
from vm122_ops.store import stored_events as stored
from vm122_ops.store.sql import QUERIES
from vm122_ops.tickets.ticket import (
    STATUSES,
    Activity,
    TicketSummary,
    open_ticket,
    summary_of,
)

TRANSITIONS: dict[str, tuple[str, ...]] = {
    "open": ("pending", "resolved"),
    "pending": ("open", "resolved"),
    "resolved": ("open", "closed"),
    "closed": ("open",),
}
REOPENED_BY = ("resolved", "closed")
MAX_NOTE = 4000  # characters, after line breaks are normalised to \n
MAX_TAGS = 20
TAG = re.compile(r"^[a-z0-9_]{1,64}\Z")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_UNSET: Any = object()


class Conflict(Exception):
    """The ticket changed since the version the agent saw."""


class TicketGone(Exception):
    """No such ticket."""


@dataclass(frozen=True, slots=True)
class Actor:
    """Who makes a change: an account, a program with the API token, or Ops itself."""

    kind: str  # "account" | "program" | "ops"
    account_id: int | None = None
    name: str | None = None


OPS = Actor("ops")


@dataclass(frozen=True, slots=True)
class TicketPatch:
    version: int
    status: str | None = None
    assignee: Any = _UNSET  # _UNSET: unchanged; None: unassign; str: an account name
    tags: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class TicketChange:
    """A committed change of one ticket (its summary after it, its new entries): the
    stream's ``ticket`` messages, one per entry, live and replayed alike."""

    ticket: TicketSummary
    entries: tuple[Activity, ...] = field(default=())
    # A ticket opened without an event ("take it"): the funnel's kept pages, which show
    # each session's ticket id, are out of date.
    opened: bool = False

    @property
    def ticket_id(self) -> int:
        return self.ticket.id

    @property
    def session_id(self) -> str:
        return self.ticket.session_id

    def messages(self) -> list[dict[str, Any]]:
        summary = self.ticket.document()
        return [
            {
                "id": entry.id,
                "ticket_id": self.ticket_id,
                "session_id": self.session_id,
                "ticket": summary,
                "entry": entry.document(),
            }
            for entry in self.entries
        ]

    def document(self) -> dict[str, Any]:
        """The answer to the change: the ticket and its new timeline entries."""
        return {
            "ticket": self.ticket.document(),
            "entries": [entry.document() for entry in self.entries],
        }


# --- parsing --------------------------------------------------------------------------


def parse_version(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value < 2**53:
        raise BadRequest("version must be the ticket's version, a positive whole number")
    return value


def version_from_if_match(header: str | None) -> int | None:
    """``If-Match: "3"`` (the ETag of GET /api/v1/desk/tickets/{id}), or None."""
    if header is None:
        return None
    raw = header.strip().removeprefix("W/").strip('"')
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 15:
        raise BadRequest('If-Match must be the ticket\'s ETag, like "3"')
    return parse_version(int(raw))


def parse_patch(body: Any, if_match: int | None) -> TicketPatch:
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object")
    unknown = set(body) - {"version", "status", "assignee", "tags"}
    if unknown:
        raise BadRequest(f"unknown field: {sorted(unknown)[0]}")
    if "version" in body:
        version = parse_version(body["version"])
        if if_match is not None and if_match != version:
            raise BadRequest("If-Match and version differ")
    elif if_match is not None:
        version = if_match
    else:
        raise PreconditionRequired()
    status = body.get("status")
    if status is not None and status not in STATUSES:
        raise Unprocessable(f"status must be one of {', '.join(STATUSES)}")
    assignee = body.get("assignee", _UNSET)
    if assignee is not _UNSET and assignee is not None and not isinstance(assignee, str):
        raise Unprocessable("assignee must be an account name or null")
    tags = body.get("tags")
    if tags is not None:
        if not isinstance(tags, list) or len(tags) > MAX_TAGS:
            raise Unprocessable(f"tags must be a list of at most {MAX_TAGS} tags")
        if not all(isinstance(t, str) and TAG.fullmatch(t) for t in tags):
            raise Unprocessable("each tag is 1-64 characters of a-z 0-9 _")
        tags = tuple(sorted(set(tags)))
    return TicketPatch(version=version, status=status, assignee=assignee, tags=tags)


class PreconditionRequired(BadRequest):
    status = 428

    def __init__(self) -> None:
        super().__init__(
            "say which version you saw: a version field, or If-Match with the ticket's ETag"
        )


def parse_note(body: Any) -> str:
    """A note's text: line breaks kept (as \\n), no other control character, 1-4000."""
    if not isinstance(body, dict) or set(body) != {"text"} or not isinstance(body["text"], str):
        raise BadRequest('the body must be {"text": "..."}')
    text = body["text"].replace("\r\n", "\n").replace("\r", "\n").strip()
    if not text:
        raise Unprocessable("a note needs some text")
    if len(text) > MAX_NOTE:
        raise Unprocessable(f"a note has at most {MAX_NOTE} characters")
    if _CONTROL.search(text):
        raise Unprocessable("a note holds text, line breaks and tabs only")
    return text


# --- reading --------------------------------------------------------------------------


def changes_after(conn: sqlite3.Connection, after_id: int, limit: int) -> list[TicketChange]:
    """Up to ``limit`` ticket changes after activity ``after_id``, oldest first, each with
    its ticket as it is now (the stream's replay)."""
    rows = conn.execute(QUERIES["activity_after"], {"after_id": after_id, "limit": limit})
    summaries: dict[int, TicketSummary] = {}
    changes = []
    for entry in map(Activity.from_row, rows.fetchall()):
        if entry.ticket_id not in summaries:
            found = summary_of(conn, entry.ticket_id)
            assert found is not None
            summaries[entry.ticket_id] = found
        changes.append(TicketChange(summaries[entry.ticket_id], (entry,)))
    return changes


def head(conn: sqlite3.Connection) -> int:
    """The newest activity id (0 when none): the stream's second cursor."""
    return int(conn.execute(QUERIES["max_activity_id"]).fetchone()[0])


def stream_heads(conn: sqlite3.Connection) -> tuple[int, int]:
    """The stream's position in one snapshot: the newest event row and activity entry."""
    return stored.head(conn), head(conn)


# --- changing (units of work on the writer thread) -------------------------------------


def _summary(conn: sqlite3.Connection, ticket_id: int) -> TicketSummary:
    found = summary_of(conn, ticket_id)
    assert found is not None
    return found


def _record(
    conn: sqlite3.Connection,
    queries: Queries,
    ticket_id: int,
    actor: Actor,
    now_ms: int,
    kind: str,
    detail: dict[str, Any],
    version: int,
) -> int:
    row = conn.execute(
        queries["insert_activity"],
        {
            "ticket_id": ticket_id,
            "actor_kind": actor.kind,
            "actor_id": actor.account_id,
            "at": now_ms,
            "kind": kind,
            "detail": orjson.dumps(detail).decode(),
            "version": version,
        },
    ).fetchone()
    return int(row[0])


def _change(
    conn: sqlite3.Connection, queries: Queries, ticket_id: int, session_id: str, ids: list[int]
) -> TicketChange:
    rows = conn.execute(queries["ticket_activity"], {"ticket_id": ticket_id}).fetchall()
    entries = tuple(e for e in map(Activity.from_row, rows) if e.id in ids)
    return TicketChange(ticket=_summary(conn, ticket_id), entries=entries)


def apply_patch(
    conn: sqlite3.Connection,
    ticket_id: int,
    patch: TicketPatch,
    actor: Actor,
    now_ms: int,
) -> TicketChange:
    """Change state, assignee and tags at the version the agent saw; one entry per field."""
    queries = QUERIES
    row = conn.execute(queries["get_ticket_work"], {"ticket_id": ticket_id}).fetchone()
    if row is None:
        raise TicketGone(ticket_id)
    if row["version"] != patch.version:
        raise Conflict(ticket_id)
    status, assignee_id = row["status"], row["assignee_id"]
    changes: list[tuple[str, dict[str, Any]]] = []
    if patch.status is not None and patch.status != status:
        if patch.status not in TRANSITIONS[status]:
            allowed = " or ".join(TRANSITIONS[status])
            raise Unprocessable(f"a {status} ticket can go to {allowed}, not {patch.status}")
        changes.append(("status", {"from": status, "to": patch.status}))
        status = patch.status
    if patch.assignee is not _UNSET:
        new_id, new_name = None, None
        if patch.assignee is not None:
            agent = conn.execute(
                queries["get_agent_by_name"], {"name": patch.assignee.strip().lower()}
            ).fetchone()
            if agent is None:
                raise Unprocessable(f"no enabled account named {patch.assignee!r}")
            new_id, new_name = int(agent["id"]), str(agent["name"])
        if new_id != assignee_id:
            old = _summary(conn, ticket_id).assignee
            changes.append(("assignee", {"from": old, "to": new_name}))
            assignee_id = new_id
    if patch.tags is not None:
        current = [r[0] for r in conn.execute(queries["ticket_tag_list"], {"ticket_id": ticket_id})]
        added = sorted(set(patch.tags) - set(current))
        removed = sorted(set(current) - set(patch.tags))
        for tag in added:
            conn.execute(queries["add_tag"], {"ticket_id": ticket_id, "tag": tag}).fetchall()
        for tag in removed:
            conn.execute(queries["remove_tag"], {"ticket_id": ticket_id, "tag": tag})
        if added or removed:
            changes.append(("tags", {"added": added, "removed": removed}))
    if not changes:
        return _change(conn, queries, ticket_id, row["session_id"], [])
    ids = _store_work(
        conn, queries, ticket_id, status, assignee_id, patch.version, changes, actor, now_ms
    )
    return _change(conn, queries, ticket_id, row["session_id"], ids)


def _store_work(
    conn: sqlite3.Connection,
    queries: Queries,
    ticket_id: int,
    status: str,
    assignee_id: int | None,
    version: int,
    changes: list[tuple[str, dict[str, Any]]],
    actor: Actor,
    now_ms: int,
) -> list[int]:
    """Store a ticket's new status and assignee at ``version`` (one version up) and an
    activity entry per change; the entries' ids."""
    updated = conn.execute(
        queries["update_ticket_work"],
        {
            "ticket_id": ticket_id,
            "status": status,
            "assignee_id": assignee_id,
            "version": version,
            "now": now_ms,
        },
    )
    if updated.rowcount != 1:  # cannot happen under the one writer; never overwrite
        raise Conflict(ticket_id)
    return [
        _record(conn, queries, ticket_id, actor, now_ms, kind, detail, version + 1)
        for kind, detail in changes
    ]


def add_note(
    conn: sqlite3.Connection,
    ticket_id: int,
    text: str,
    actor: Actor,
    now_ms: int,
) -> TicketChange:
    queries = QUERIES
    row = conn.execute(queries["get_ticket_work"], {"ticket_id": ticket_id}).fetchone()
    if row is None:
        raise TicketGone(ticket_id)
    touch = {"ticket_id": ticket_id, "bump": False, "now": now_ms}
    conn.execute(queries["touch_ticket_version"], touch)
    note = _record(conn, queries, ticket_id, actor, now_ms, "note", {"text": text}, row["version"])
    return _change(conn, queries, ticket_id, row["session_id"], [note])


def reopen_or_bump(
    conn: sqlite3.Connection,
    queries: Queries,
    ticket_id: int,
    event_row: int,
    now_ms: int,
    *,
    failed: bool,
    tags_added: list[str],
) -> TicketChange | None:
    """An event on an existing ticket: a new onboarding.failed reopens a resolved or
    closed ticket (an entry by Ops, announced); a tag the event added moves the version
    only, so a stale tag edit cannot take it off (the event itself is in the timeline,
    and the timeline stays the same whatever the arrival order of events)."""
    row = None
    if failed:  # only a failure can reopen: only then is the ticket's status needed
        row = conn.execute(queries["get_ticket_work"], {"ticket_id": ticket_id}).fetchone()
        assert row is not None
    if row is None or row["status"] not in REOPENED_BY:
        if tags_added:  # one version up; status and assignee as they are
            touch = {"ticket_id": ticket_id, "bump": True, "now": now_ms}
            conn.execute(queries["touch_ticket_version"], touch)
        return None
    conn.execute(
        queries["update_ticket_work"],
        {
            "ticket_id": ticket_id,
            "status": "open",
            "assignee_id": row["assignee_id"],
            "version": row["version"],
            "now": now_ms,
        },
    )
    why = f"onboarding.failed received (event {event_row}): reopened"
    detail = {"from": row["status"], "to": "open", "reason": why}
    ids = [_record(conn, queries, ticket_id, OPS, now_ms, "status", detail, row["version"] + 1)]
    return _change(conn, queries, ticket_id, row["session_id"], ids)


def take_session(
    conn: sqlite3.Connection, session_id: str, actor: Actor, now_ms: int
) -> TicketChange:
    """An agent takes a session (the stuck list's "take it"): its ticket becomes a
    follow-up (opened now, with the session's history, when it had none), assigned to the
    agent and open. Each change is an activity entry like an agent's own edit."""
    queries = QUERIES
    assert actor.account_id is not None and actor.name is not None
    session = conn.execute(queries["get_session_domain"], {"session_id": session_id}).fetchone()
    if session is None:
        raise TicketGone(session_id)
    found = conn.execute(queries["get_ticket_for_session"], {"session_id": session_id})
    existing = found.fetchone()
    opened = existing is None
    if existing is None:
        ticket_id = open_ticket(
            conn, queries, session_id, session["domain"], now_ms, kind="follow_up"
        )
    else:
        ticket_id = int(existing["id"])
        conn.execute(queries["make_follow_up"], {"ticket_id": ticket_id})
    row = conn.execute(queries["get_ticket_work"], {"ticket_id": ticket_id}).fetchone()
    status = "open" if row["status"] in REOPENED_BY else row["status"]
    changes: list[tuple[str, dict[str, Any]]] = []
    if status != row["status"]:
        changes.append(("status", {"from": row["status"], "to": status}))
    if row["assignee_id"] != actor.account_id:
        old = _summary(conn, ticket_id).assignee
        changes.append(("assignee", {"from": old, "to": actor.name}))
    if not changes:
        return replace(_change(conn, queries, ticket_id, session_id, []), opened=opened)
    ids = _store_work(
        conn, queries, ticket_id, status, actor.account_id, row["version"], changes, actor, now_ms
    )
    return replace(_change(conn, queries, ticket_id, session_id, ids), opened=opened)
