"""Desk tickets: opened by account.created or onboarding.failed, one per session.

Rules (order-independent, so any arrival order of the same events ends the same):
- a ticket opens when its session first has an account.created or onboarding.failed
  event, and then holds every event of that session, earlier ones included;
- a session with onboarding.completed gets the tag ready_for_ops and a note saying so,
  once per ticket: an agent who takes the tag off keeps it off through later completions;
- a session with onboarding.failed gets the tag onboarding_failed;
- the newest mail.checked tags mail_ready when every item of the domain's mail is ok,
  else mail_pending, never both (vm122_ops/funnel/mail_readiness.py);
- a dns.applied with ``mode: manual`` (the customer adds the mail records at their own DNS
  host) tags dns_manual, and one with ``dkim.status: pending`` (an operator must create
  the domain's DKIM key on Carbonio) tags dkim_pending (docs/portal.md, "DKIM");
- on a ticket that already exists, a new onboarding.failed reopens it when agents had
  resolved or closed it (vm122_ops/tickets/work.py, called by ingest with ``TicketTouch``).

Reading: ``get(conn, ticket_id)`` and ``page(conn, filters, limit, before)`` are read
functions (run them with ``db.read``) returning ``Ticket`` and ``TicketPage``. A ticket's
timeline holds copies of its session's events, Ops' notes, and its ``Activity``: every
change and note by agents (``ticket_activity``, append-only).
"""

from __future__ import annotations

import base64
import binascii
import re
import sqlite3
from dataclasses import dataclass, field
from typing import Any

import orjson

from servicekit.sqlfiles import Queries
from vm122_ops.errors import BadRequest
from vm122_ops.ingest.events import COMPLETED_STAGE, FAILED, STAGES, Event, format_ms
from vm122_ops.ingest.session_fold import SessionState
from vm122_ops.store.sql import QUERIES
from vm122_ops.store.stored_events import StoredEvent, View

OPENING_TYPES = frozenset({"account.created", FAILED})
STATUSES = ("open", "pending", "resolved", "closed")
QUEUES = ("needs_action", "handover", "all")
# An activity entry's kind and who made it (ticket_activity's checks: schema 0007).
ACTIVITY_KINDS = ("status", "assignee", "tags", "note")
ACTOR_KINDS = ("account", "program", "ops")
# A ticket's kind and the queue it is in (tickets' checks: schema 0012), and what kind of
# failure its session's last one was (failure_kind).
TICKET_KINDS = ("onboarding", "follow_up")
TICKET_QUEUES = ("needs_action", "handover", "other")
FAILURE_KINDS = ("customer", "fault")
READY_TAG = "ready_for_ops"
FAILED_TAG = "onboarding_failed"
DNS_MANUAL_TAG = "dns_manual"
DKIM_PENDING_TAG = "dkim_pending"
MAIL_READY_TAG = "mail_ready"  # vm122_ops/funnel/mail_readiness.py
MAIL_PENDING_TAG = "mail_pending"
READY_NOTE = "Onboarding completed: the mail domain is ready for operations (ready_for_ops)."
READY_NOTE_KIND = "ready_for_ops"  # the note's stable key (ticket_entries.note_kind)
NOTE_KINDS = (READY_NOTE_KIND,)  # ticket_entries.note_kind's check (schema 0005)
ENTRY_DATA_LIMIT = 4096
_CURSOR = re.compile(r"^[0-9]{1,18}:[0-9]{1,18}\Z")


# Failure codes that ask something of the customer (retype, choose another name, fix their
# zone), from the codes docs/webhook-funnel-events.md lists: Carbonio's ACCOUNT_EXISTS,
# DOMAIN_EXISTS and INVALID_PASSWORD, Cloudflare's 81053 (a CNAME's name is taken) and 1004
# (DNS validation). Every other code (a fault of ours or of a provider: service.FAILURE,
# AUTH_FAILED, timeouts, HTTP 5xx, unspecified) is "fault": someone of ours must look.
CUSTOMER_CODES = frozenset(
    {
        "carbonio:account.ACCOUNT_EXISTS",
        "carbonio:account.DOMAIN_EXISTS",
        "carbonio:account.INVALID_PASSWORD",
        "account.ACCOUNT_EXISTS",
        "account.DOMAIN_EXISTS",
        "account.INVALID_PASSWORD",
        "cloudflare:81053",
        "cloudflare:1004",
    }
)


def failure_kind(code: str) -> str:
    """``customer`` for a failure the customer can fix, ``fault`` otherwise (the ticket
    list's priority starts from it)."""
    return "customer" if code in CUSTOMER_CODES else "fault"


def entry_body(data: Any) -> str:
    """Event data for a ticket entry, truncated so one event cannot bloat a ticket."""
    text = orjson.dumps(data)
    if len(text) <= ENTRY_DATA_LIMIT:
        return text.decode()
    preview = text[: ENTRY_DATA_LIMIT - 256].decode("utf-8", errors="ignore")
    return orjson.dumps({"_truncated": True, "_bytes": len(text), "preview": preview}).decode()


@dataclass(frozen=True, slots=True)
class TicketTouch:
    """What an event did to its session's ticket."""

    ticket_id: int
    opened: bool  # the event opened the ticket
    tags_added: tuple[str, ...]


def open_or_extend(
    conn: sqlite3.Connection,
    queries: Queries,
    session: SessionState,
    event: Event,
    row_id: int,
    received_at: int,
    existing_id: int | None,
    *,
    mail_ready: bool | None = None,
) -> TicketTouch | None:
    """Open or extend the session's ticket for a stored event; None without a ticket.
    ``existing_id``: the session's ticket before this event (ingest reads it with the
    session, ``get_session_and_ticket``), None when it had none. ``mail_ready``: the
    session's mail readiness after this event when it is a mail check or opens the
    ticket (then the ticket's mail tag follows it), else None."""
    existing = existing_id is not None
    tags_added: list[str] = []
    if existing_id is not None:
        ticket_id = existing_id
        tags_added += _add_event_entry(
            conn,
            queries,
            ticket_id,
            event.event_type,
            event.data,
            row_id,
            event.occurred_at,
            received_at,
        )
        conn.execute(queries["touch_ticket"], {"ticket_id": ticket_id, "now": received_at})
    elif event.event_type in OPENING_TYPES:
        ticket_id = _open(conn, queries, session, received_at)
    else:
        return None
    if event.event_type == FAILED and _tag(conn, queries, ticket_id, FAILED_TAG):
        tags_added.append(FAILED_TAG)
    if mail_ready is not None:
        wanted, other = (MAIL_READY_TAG, MAIL_PENDING_TAG)[:: 1 if mail_ready else -1]
        conn.execute(queries["remove_tag"], {"ticket_id": ticket_id, "tag": other})
        if _tag(conn, queries, ticket_id, wanted):
            tags_added.append(wanted)
    completed_at = session.stage_at[COMPLETED_STAGE]
    if completed_at is not None:
        # Ops tags and notes a completion once per ticket. When the note is there, Ops
        # already did: a later completion (a repeat, or an earlier one arriving late)
        # only moves the note to the session's first completion, and leaves the tag as
        # it is, so a tag an agent took off on purpose stays off (docs/desk.md, "Tags").
        noted = conn.execute(
            queries["move_ready_note"],
            {"ticket_id": ticket_id, "occurred_at": completed_at},
        ).fetchone()
        if noted is None and _tag(conn, queries, ticket_id, READY_TAG):
            tags_added.append(READY_TAG)
            conn.execute(
                queries["insert_entry"],
                {
                    "ticket_id": ticket_id,
                    "kind": "note",
                    "note_kind": READY_NOTE_KIND,
                    "event_row": None,
                    "event_type": None,
                    "occurred_at": completed_at,
                    "received_at": received_at,
                    "body": READY_NOTE,
                },
            )
    return TicketTouch(ticket_id=ticket_id, opened=not existing, tags_added=tuple(tags_added))


def _open(
    conn: sqlite3.Connection, queries: Queries, session: SessionState, received_at: int
) -> int:
    return open_ticket(conn, queries, session.session_id, session.domain, received_at)


def open_ticket(
    conn: sqlite3.Connection,
    queries: Queries,
    session_id: str,
    domain: str,
    received_at: int,
    kind: str = "onboarding",
) -> int:
    """Open a session's ticket holding its whole history; its id."""
    params = {
        "session_id": session_id,
        "subject": f"Onboarding of {domain}",
        "now": received_at,
        "kind": kind,
    }
    row = conn.execute(queries["insert_ticket"], params).fetchone()
    assert row is not None
    ticket_id = int(row["id"])
    # Backfill: the ticket holds its session's whole history, earlier events included.
    history = conn.execute(queries["session_events"], {"session_id": session_id})
    for stored in map(StoredEvent.from_row, history.fetchall()):
        _add_event_entry(
            conn,
            queries,
            ticket_id,
            stored.event_type,
            stored.data,
            stored.id,
            stored.occurred_at,
            stored.received_at,
        )
        if stored.event_type == FAILED:
            _tag(conn, queries, ticket_id, FAILED_TAG)
    return ticket_id


def _add_event_entry(
    conn: sqlite3.Connection,
    queries: Queries,
    ticket_id: int,
    event_type: str,
    data: Any,
    row_id: int,
    occurred_at: int,
    received_at: int,
) -> list[str]:
    """Copy an event into a ticket's timeline; the tags its data added (none before)."""
    conn.execute(
        queries["insert_entry"],
        {
            "ticket_id": ticket_id,
            "kind": "event",
            "note_kind": None,
            "event_row": row_id,
            "event_type": event_type,
            "occurred_at": occurred_at,
            "received_at": received_at,
            "body": entry_body(data),
        },
    )
    return [tag for tag in _event_tags(event_type, data) if _tag(conn, queries, ticket_id, tag)]


def _event_tags(event_type: str, data: Any) -> list[str]:
    """Tags an event's own data asks for (every entry passes here, backfill included)."""
    if event_type != "dns.applied" or not isinstance(data, dict):
        return []
    tags = []
    if data.get("mode") == "manual":
        tags.append(DNS_MANUAL_TAG)
    dkim = data.get("dkim")
    if isinstance(dkim, dict) and dkim.get("status") == "pending":
        tags.append(DKIM_PENDING_TAG)
    return tags


def _tag(conn: sqlite3.Connection, queries: Queries, ticket_id: int, tag: str) -> bool:
    """Add a tag; True when the ticket did not have it yet."""
    added = conn.execute(queries["add_tag"], {"ticket_id": ticket_id, "tag": tag}).fetchone()
    return added is not None


# --- reading -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TicketSummary:
    """A ticket as every view shows it, with its session's domain, status and stage."""

    id: int
    session_id: str
    domain: str
    status: str
    session_status: str
    stage: int | None
    tags: tuple[str, ...]
    subject: str
    created_at: int
    updated_at: int
    assignee: str | None = None  # an account name
    version: int = 1  # moves with every change of status, assignee or tags
    kind: str = "onboarding"  # or "follow_up": opened by an agent from the stuck list
    queue: str = "other"  # "needs_action" | "handover" | "other" (migration 0012)
    contact: str | None = None  # the session's contact (vm122_ops/contacts.py)
    failure_code: str | None = None  # the session's last failure's code, if it failed

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> TicketSummary:
        """A ticket_summaries row."""
        return cls(
            id=row["id"],
            session_id=row["session_id"],
            domain=row["domain"],
            status=row["status"],
            session_status=row["session_status"],
            stage=row["furthest_stage"],
            tags=tuple(row["tags"].split(",")) if row["tags"] else (),
            subject=row["subject"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
            assignee=row["assignee"],
            version=row["version"],
            kind=row["kind"],
            queue=row["queue"],
            contact=row["contact"],
            failure_code=row["failure_code"],
        )

    def document(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "session_id": self.session_id,
            "domain": self.domain,
            "status": self.status,
            "session_status": self.session_status,
            "stage": None if self.stage is None else STAGES[self.stage],
            "tags": list(self.tags),
            "assignee": self.assignee,
            "version": self.version,
            "subject": self.subject,
            "created_at": format_ms(self.created_at),
            "updated_at": format_ms(self.updated_at),
            "kind": self.kind,
            "queue": self.queue,
            "contact": self.contact,
            "failure_code": self.failure_code,
            "failure_kind": None if self.failure_code is None else failure_kind(self.failure_code),
        }


@dataclass(frozen=True, slots=True)
class Note:
    """A note Ops wrote itself. ``note_kind`` says which (``NOTE_KINDS``), so the Desk writes
    it in the page's language; ``text`` is the English stored with it, shown as is when
    the kind is null or unknown to the page."""

    id: int
    occurred_at: int
    received_at: int
    text: str
    note_kind: str | None = None

    def document(self) -> dict[str, Any]:
        return {
            "kind": "note",
            "note_kind": self.note_kind,
            "id": self.id,
            "occurred_at": format_ms(self.occurred_at),
            "received_at": format_ms(self.received_at),
            "text": self.text,
        }


@dataclass(frozen=True, slots=True)
class Activity:
    """One change (status, assignee, tags) or note on a ticket: who, when, what."""

    id: int
    ticket_id: int
    type: str  # "status" | "assignee" | "tags" | "note"
    at: int
    actor_kind: str  # "account" | "program" | "ops"
    actor_name: str | None
    version: int  # the ticket's version after it
    detail: dict[str, Any]

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Activity:
        """A ticket_activity row with its actor's name (ticket_activity, activity_after)."""
        return cls(
            id=row["id"],
            ticket_id=row["ticket_id"],
            type=row["kind"],
            at=row["at"],
            actor_kind=row["actor_kind"],
            actor_name=row["actor_name"],
            version=row["version"],
            detail=orjson.loads(row["detail"]),
        )

    def document(self) -> dict[str, Any]:
        actor: dict[str, Any] = {"kind": self.actor_kind}
        if self.actor_kind == "account":
            actor["name"] = self.actor_name
        return {
            "kind": "activity",
            "id": self.id,
            "type": self.type,
            "occurred_at": format_ms(self.at),
            "actor": actor,
            "version": self.version,
            **self.detail,
        }


@dataclass(frozen=True, slots=True)
class Ticket:
    summary: TicketSummary
    # Copies of the session's events (data possibly truncated), Ops' notes and the
    # agents' activity, in time order.
    timeline: list[StoredEvent | Note | Activity]
    contact: str | None = None  # who to contact about its session (vm122_ops/tickets/contacts.py)
    reference: str | None = None  # its session's support reference (tickets/search.py)

    def document(self) -> dict[str, Any]:
        return {
            **self.summary.document(),
            "contact": self.contact,
            "reference": self.reference,
            "timeline": [
                entry.message(View.TICKET) if isinstance(entry, StoredEvent) else entry.document()
                for entry in self.timeline
            ],
        }


@dataclass(frozen=True, slots=True)
class TicketFilter:
    queue: str | None = None  # None: every queue
    status: str | None = None
    tag: str | None = None
    session_id: str | None = None
    unassigned: bool = False
    assignee: str | None = None  # an account name


@dataclass(frozen=True, slots=True)
class TicketPage:
    tickets: list[TicketSummary]
    next: str | None  # the cursor of the next page, None on the last
    # Tickets per status under the same filters but the status.
    counts: dict[str, int] = field(default_factory=dict)
    # Tickets per queue, every ticket (needs_action, handover, all).
    queues: dict[str, int] = field(default_factory=dict)

    def document(self) -> dict[str, Any]:
        return {
            "tickets": [ticket.document() for ticket in self.tickets],
            "next": self.next,
            "counts": self.counts,
            "queues": self.queues,
        }


def get(conn: sqlite3.Connection, ticket_id: int) -> Ticket | None:
    """One ticket with its timeline, or None."""
    row = conn.execute(QUERIES["get_ticket"], {"ticket_id": ticket_id}).fetchone()
    if row is None:
        return None
    summary = TicketSummary.from_row(row)
    entries = conn.execute(QUERIES["ticket_entries"], {"ticket_id": ticket_id})
    timeline: list[StoredEvent | Note | Activity] = [_entry(summary, e) for e in entries]
    changes = conn.execute(QUERIES["ticket_activity"], {"ticket_id": ticket_id})
    timeline += [Activity.from_row(change) for change in changes]
    # By time; at the same time events, then Ops' notes, then activity (a stable sort
    # keeps each kind's own order).
    timeline.sort(key=lambda e: (_at(e), _RANK[type(e)]))
    session = conn.execute(
        QUERIES["session_contact"], {"session_id": summary.session_id}
    ).fetchone()
    if session is None:
        return Ticket(summary, timeline)
    return Ticket(summary, timeline, session["contact"], session["reference"])


_RANK = {StoredEvent: 0, Note: 1, Activity: 2}


def _at(entry: StoredEvent | Note | Activity) -> int:
    return entry.at if isinstance(entry, Activity) else entry.occurred_at


def summary_of(conn: sqlite3.Connection, ticket_id: int) -> TicketSummary | None:
    row = conn.execute(QUERIES["get_ticket"], {"ticket_id": ticket_id}).fetchone()
    return None if row is None else TicketSummary.from_row(row)


def _entry(ticket: TicketSummary, row: sqlite3.Row) -> StoredEvent | Note:
    if row["kind"] == "note":
        return Note(
            row["id"], row["occurred_at"], row["received_at"], row["body"], row["note_kind"]
        )
    return StoredEvent(
        id=row["event_row"],
        session_id=ticket.session_id,
        domain=ticket.domain,
        event_type=row["event_type"],
        occurred_at=row["occurred_at"],
        received_at=row["received_at"],
        data=orjson.loads(row["body"]),
    )


def page(
    conn: sqlite3.Connection,
    filters: TicketFilter,
    limit: int,
    before: tuple[int, int] | None = None,
) -> TicketPage:
    """Tickets newest-updated first, after the cursor position ``before``."""
    before_updated, before_id = before if before is not None else (None, None)
    assignee_id: int | None = None
    if filters.assignee is not None:
        agent = conn.execute(QUERIES["get_account_by_name"], {"name": filters.assignee})
        found = agent.fetchone()
        assignee_id = -1 if found is None else int(found["id"])  # nobody: nothing matches
    params: dict[str, Any] = {
        "queue": filters.queue,
        "status": filters.status,
        "tag": filters.tag,
        "session_id": filters.session_id,
        "unassigned": int(filters.unassigned),
        "assignee_id": assignee_id,
        "before_updated": before_updated,
        "before_id": before_id,
        "limit": limit + 1,  # one more row tells whether a next page exists
    }
    rows = conn.execute(QUERIES["list_tickets"], params).fetchall()
    tickets = [TicketSummary.from_row(row) for row in rows[:limit]]
    counted = {name: params[name] for name in ("tag", "unassigned", "assignee_id")}
    counts = dict.fromkeys(STATUSES, 0)
    if filters.tag is None and not filters.unassigned and assignee_id is None:
        # Every ticket: the counts the triggers keep (a row per status, not a count of all
        # tickets, which grows with them: 20 ms at 175k).
        by_status = conn.execute(QUERIES["tickets_by_status"]).fetchall()
    else:
        by_status = conn.execute(QUERIES["ticket_status_counts"], counted).fetchall()
    for row in by_status:
        counts[row["status"]] = int(row["tickets"])
    following = None
    if len(rows) > limit:
        following = encode_cursor(tickets[-1].updated_at, tickets[-1].id)
    return TicketPage(tickets, following, counts, queue_counts(conn))


def queue_counts(conn: sqlite3.Connection) -> dict[str, int]:
    """Tickets per queue (needs_action, handover) and in all, from the rows the triggers
    keep (migration 0012), so the cost does not grow with the tickets."""
    kept = {row["queue"]: int(row["tickets"]) for row in conn.execute(QUERIES["queue_counts"])}
    return {
        "needs_action": kept.get("needs_action", 0),
        "handover": kept.get("handover", 0),
        "all": sum(kept.values()),
    }


def encode_cursor(updated_at: int, ticket_id: int) -> str:
    return base64.urlsafe_b64encode(f"{updated_at}:{ticket_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[int, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raw = ""
    if not _CURSOR.match(raw):
        raise BadRequest("cursor is not a cursor this server gave out")
    updated, ticket = raw.split(":")
    return int(updated), int(ticket)
