"""Desk tickets: opened by account.created or onboarding.failed, one per session.

Rules (order-independent, so any arrival order of the same events ends the same):
- a ticket opens when its session first has an account.created or onboarding.failed
  event, and then holds every event of that session, earlier ones included;
- a session with onboarding.completed gets the tag ready_for_ops and a note saying so;
- a session with onboarding.failed gets the tag onboarding_failed.
"""

from __future__ import annotations

import base64
import binascii
import re
import sqlite3
from typing import Any

import orjson

from sqlfiles import Queries
from vm122_ops.errors import BadRequest
from vm122_ops.events import COMPLETED_STAGE, FAILED, STAGES, Event, format_ms
from vm122_ops.sessions import SessionState

OPENING_TYPES = frozenset({"account.created", FAILED})
READY_TAG = "ready_for_ops"
FAILED_TAG = "onboarding_failed"
READY_NOTE = "Onboarding completed: the mail domain is ready for operations (ready_for_ops)."
ENTRY_DATA_LIMIT = 4096
_CURSOR = re.compile(r"^[0-9]{1,18}:[0-9]{1,18}\Z")


def entry_body(data: Any) -> str:
    """Event data for a ticket entry, truncated so one event cannot bloat a ticket."""
    text = orjson.dumps(data)
    if len(text) <= ENTRY_DATA_LIMIT:
        return text.decode()
    preview = text[: ENTRY_DATA_LIMIT - 256].decode("utf-8", errors="ignore")
    return orjson.dumps({"_truncated": True, "_bytes": len(text), "preview": preview}).decode()


def on_event(
    conn: sqlite3.Connection,
    queries: Queries,
    session: SessionState,
    event: Event,
    row_id: int,
    received_at: int,
) -> int | None:
    """Open or extend the session's ticket for a stored event; returns the ticket id."""
    ticket = conn.execute(
        queries["get_ticket_for_session"], {"session_id": session.session_id}
    ).fetchone()
    if ticket is not None:
        ticket_id = int(ticket[0])
        _add_event_entry(
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
    if event.event_type == FAILED:
        _tag(conn, queries, ticket_id, FAILED_TAG)
    completed_at = session.stage_at[COMPLETED_STAGE]
    if completed_at is not None:
        if _tag(conn, queries, ticket_id, READY_TAG):
            conn.execute(
                queries["insert_entry"],
                {
                    "ticket_id": ticket_id,
                    "kind": "note",
                    "event_row": None,
                    "event_type": None,
                    "occurred_at": completed_at,
                    "received_at": received_at,
                    "body": READY_NOTE,
                },
            )
        else:
            # An earlier onboarding.completed arrived late: the note follows the first.
            conn.execute(
                queries["move_ready_note"],
                {"ticket_id": ticket_id, "occurred_at": completed_at, "body": READY_NOTE},
            )
    return ticket_id


def _open(
    conn: sqlite3.Connection, queries: Queries, session: SessionState, received_at: int
) -> int:
    params = {
        "session_id": session.session_id,
        "subject": f"Onboarding of {session.domain}",
        "now": received_at,
    }
    row = conn.execute(queries["insert_ticket"], params).fetchone()
    assert row is not None
    ticket_id = int(row[0])
    # Backfill: the ticket holds its session's whole history, earlier events included.
    history = conn.execute(queries["session_events"], {"session_id": session.session_id}).fetchall()
    for event_row, event_type, occurred_at, event_received, payload in history:
        data = orjson.loads(payload).get("data", {})
        _add_event_entry(
            conn, queries, ticket_id, event_type, data, event_row, occurred_at, event_received
        )
        if event_type == FAILED:
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
) -> None:
    conn.execute(
        queries["insert_entry"],
        {
            "ticket_id": ticket_id,
            "kind": "event",
            "event_row": row_id,
            "event_type": event_type,
            "occurred_at": occurred_at,
            "received_at": received_at,
            "body": entry_body(data),
        },
    )


def _tag(conn: sqlite3.Connection, queries: Queries, ticket_id: int, tag: str) -> bool:
    """Add a tag; True when the ticket did not have it yet."""
    added = conn.execute(queries["add_tag"], {"ticket_id": ticket_id, "tag": tag}).fetchone()
    return added is not None


# --- reading -------------------------------------------------------------------------


def ticket_summary(row: sqlite3.Row) -> dict[str, Any]:
    stage = row["furthest_stage"]
    return {
        "id": row["id"],
        "session_id": row["session_id"],
        "domain": row["domain"],
        "status": row["status"],
        "session_status": row["session_status"],
        "stage": None if stage is None else STAGES[stage],
        "tags": row["tags"].split(",") if row["tags"] else [],
        "subject": row["subject"],
        "created_at": format_ms(row["created_at"]),
        "updated_at": format_ms(row["updated_at"]),
    }


def timeline_entry(row: sqlite3.Row) -> dict[str, Any]:
    if row["kind"] == "note":
        return {
            "kind": "note",
            "id": row["id"],
            "occurred_at": format_ms(row["occurred_at"]),
            "received_at": format_ms(row["received_at"]),
            "text": row["body"],
        }
    return {
        "kind": "event",
        "id": row["event_row"],
        "event_type": row["event_type"],
        "occurred_at": format_ms(row["occurred_at"]),
        "received_at": format_ms(row["received_at"]),
        "data": orjson.loads(row["body"]),
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
