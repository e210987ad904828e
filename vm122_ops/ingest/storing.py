"""Storing one accepted event: the event row, its session's state, the rollups and the
ticket work, all inside one writer unit of work (one transaction)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass

from vm122_ops.funnel import activity, breakdowns, failures
from vm122_ops.funnel import mail_readiness as mail
from vm122_ops.funnel import rollups as funnel
from vm122_ops.funnel import session_states as states
from vm122_ops.ingest.events import FAILED, MAIL_CHECKED, Event
from vm122_ops.ingest.session_fold import SessionState, fold
from vm122_ops.store.sql import QUERIES
from vm122_ops.store.stored_events import StoredEvent
from vm122_ops.tickets import contacts, search
from vm122_ops.tickets import ticket as tickets
from vm122_ops.tickets import work as ticket_work
from vm122_ops.tickets.work import TicketChange


@dataclass(frozen=True, slots=True)
class IngestResult:
    id: int
    duplicate: bool
    event: Event
    received_at: int
    session: SessionState | None = None
    ticket_id: int | None = None
    # Changes to the funnel's duration cells, applied to the in-memory cache after commit.
    durations: tuple[funnel.DurationDelta, ...] = ()
    # A change of an existing ticket the event made (a reopen), for the stream.
    ticket_change: TicketChange | None = None

    def stored_event(self) -> StoredEvent | None:
        """The newly stored event with its session and ticket; None for a duplicate."""
        if self.duplicate or self.session is None:
            return None
        return StoredEvent(
            id=self.id,
            session_id=self.event.session_id,
            domain=self.event.domain,
            event_type=self.event.event_type,
            occurred_at=self.event.occurred_at,
            received_at=self.received_at,
            data=self.event.data,
            stage=self.session.furthest_stage,
            status=self.session.shown_status,  # `refused` too: the stream's messages
            ticket_id=self.ticket_id,
        )


def stored_events(results: Iterable[IngestResult]) -> list[StoredEvent]:
    """The events that committed ingest results newly stored (duplicates store none)."""
    return [event for result in results if (event := result.stored_event()) is not None]


def announcements(
    results: Iterable[IngestResult | TicketChange],
) -> list[StoredEvent | TicketChange]:
    """What committed units tell the stream, in commit order: each newly stored event,
    then the ticket change it made; and agents' ticket changes."""
    found: list[StoredEvent | TicketChange] = []
    for result in results:
        if isinstance(result, TicketChange):
            found.append(result)
            continue
        event = result.stored_event()
        if event is not None:
            found.append(event)
            if result.ticket_change is not None:
                found.append(result.ticket_change)
    return found


def store_event(conn: sqlite3.Connection, event: Event, received_at: int) -> IngestResult:
    """Store one event with everything derived from it (a unit of work for the writer:
    ``db.ingest(store_event, event, received_at)``)."""
    queries = QUERIES
    params = {
        "event_id": event.event_id,
        "session_id": event.session_id,
        "event_type": event.event_type,
        "domain": event.domain,
        "occurred_at": event.occurred_at,
        "received_at": received_at,
        "payload": event.payload,
    }
    remembered = conn.execute(
        queries["remember_webhook_id"], {"event_id": event.event_id, "received_at": received_at}
    ).fetchone()
    inserted = (
        None if remembered is None else conn.execute(queries["insert_event"], params).fetchone()
    )
    if inserted is None:
        existing = conn.execute(
            queries["get_event_by_event_id"], {"event_id": event.event_id}
        ).fetchone()
        # Seen before; without its row, retention purged it: still a duplicate (id 0),
        # never stored anew (a replay must not recreate purged history).
        return IngestResult(
            id=0 if existing is None else int(existing["id"]),
            duplicate=True,
            event=event,
            received_at=received_at,
        )
    row_id = int(inserted["id"])
    row = conn.execute(
        queries["get_session_and_ticket"], {"session_id": event.session_id}
    ).fetchone()
    old = None if row is None else SessionState.from_row(row)
    ticket_id = None if row is None else row["ticket_id"]
    new = fold(old, event, row_id)
    old_props = None if row is None else breakdowns.Props.from_row(row)
    new_props = breakdowns.fold_props(old_props, event, row_id)
    step = None
    if event.event_type == FAILED:
        step = failures.failed_step(event, new)
        failures.record(conn, queries, event, step)
    session = new.to_params()
    session.update(new_props.to_params(new.session_id))
    # The search keys go with the row when they change (None keeps the stored ones).
    if old is None or old.domain != new.domain:
        session.update(search.search_keys(new.domain))
    else:
        session.update(domain_key=None, domain_ascii=None)
    conn.execute(queries["upsert_session"], session)
    contacts.record(conn, queries, event, row_id)
    search.record_reference(conn, queries, event)
    durations = funnel.move_contributions(conn, queries, old, new)
    breakdowns.record(conn, queries, old, new, old_props, new_props)
    states.move_contributions(conn, queries, old, new)
    activity.record(conn, queries, old, new, event, step, failures.failure_code(event.data))
    mail_ready = None
    if event.event_type == MAIL_CHECKED:
        mail_state = mail.record(conn, queries, event.session_id)
        mail_ready = None if mail_state is None else mail_state.ready
    elif ticket_id is None and event.event_type in tickets.OPENING_TYPES:
        mail_ready = mail.ready_of(conn, queries, event.session_id)  # a check came first
    touch = tickets.open_or_extend(
        conn, queries, new, event, row_id, received_at, ticket_id, mail_ready=mail_ready
    )
    change = None
    failed = event.event_type == FAILED
    # On an existing ticket only a failure (a reopen) or a tag the event added changes
    # the ticket's work; anything else would read the ticket for nothing.
    if touch is not None and not touch.opened and (failed or touch.tags_added):
        change = ticket_work.reopen_or_bump(
            conn,
            queries,
            touch.ticket_id,
            row_id,
            received_at,
            failed=failed,
            tags_added=list(touch.tags_added),
        )
    return IngestResult(
        id=row_id,
        duplicate=False,
        event=event,
        received_at=received_at,
        session=new,
        ticket_id=None if touch is None else touch.ticket_id,
        durations=tuple(durations),
        ticket_change=change,
    )
