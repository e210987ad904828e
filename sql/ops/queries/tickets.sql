-- name: get_ticket_for_session^
-- The ticket of a session, if it has one.
select id, status
from tickets
where session_id = :session_id;

-- name: insert_ticket<!
-- Open a session's ticket.
insert into tickets (session_id, subject, created_at, updated_at)
values (:session_id, :subject, :now, :now)
returning id;

-- name: touch_ticket!
-- Mark a ticket updated by an arriving event.
update tickets
set updated_at = max(updated_at, :now)
where id = :ticket_id;

-- name: add_tag<!
-- Tag a ticket; returns nothing when it already had the tag.
insert into ticket_tags (ticket_id, tag)
values (:ticket_id, :tag)
on conflict do nothing
returning tag;

-- name: insert_entry!
-- Append an event or a note to a ticket's timeline (an event only once).
insert into ticket_entries (
    ticket_id,
    kind,
    note_kind,
    event_row,
    event_type,
    occurred_at,
    received_at,
    body
)
values (
    :ticket_id, :kind, :note_kind, :event_row, :event_type, :occurred_at, :received_at, :body
)
on conflict (ticket_id, event_row) do nothing;

-- name: move_ready_note!
-- Keep the ready_for_ops note at the session's first completion (late events move it).
update ticket_entries
set occurred_at = min(occurred_at, :occurred_at)
where ticket_id = :ticket_id
  and note_kind = 'ready_for_ops';

-- name: get_ticket^
-- One ticket with its session's domain, status and stage, and its tags.
select *
from ticket_summaries
where id = :ticket_id;

-- name: ticket_entries
-- A ticket's timeline: events by event time then arrival, each note after its event.
select id, kind, event_row, event_type, occurred_at, received_at, body
from ticket_entries
where ticket_id = :ticket_id
order by occurred_at, kind, coalesce(event_row, id), id;

-- name: list_tickets
-- Tickets newest-updated first, keyset-paginated on (updated_at, id), optional filters.
select *
from ticket_summaries as t
where (:status is null or t.status = :status)
  and (:session_id is null or t.session_id = :session_id)
  and (:tag is null or exists (
        select 1 from ticket_tags as g where g.ticket_id = t.id and g.tag = :tag))
  and (:before_updated is null
       or t.updated_at < :before_updated
       or (t.updated_at = :before_updated and t.id < :before_id))
order by t.updated_at desc, t.id desc
limit :limit;
