-- name: get_ticket_for_session^
-- The ticket of a session, if it has one.
select id, status
from tickets
where session_id = :session_id;

-- name: insert_ticket<!
-- Open a session's ticket (kind onboarding, or follow_up from the stuck list).
insert into tickets (session_id, subject, created_at, updated_at, kind)
values (:session_id, :subject, :now, :now, :kind)
returning id;

-- name: make_follow_up!
-- An agent took the session from the stuck list: its ticket is a follow-up from now on.
update tickets
set kind = 'follow_up'
where id = :ticket_id;

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

-- name: move_ready_note<!
-- Keep the ready_for_ops note at the session's first completion (late events move it);
-- returns nothing when the ticket has no such note yet.
update ticket_entries
set occurred_at = min(occurred_at, :occurred_at)
where ticket_id = :ticket_id
  and note_kind = 'ready_for_ops'
returning id;

-- name: get_ticket^
-- One ticket with its session's domain, status and stage, and its tags.
select *
from ticket_summaries
where id = :ticket_id;

-- name: ticket_entries
-- A ticket's timeline: events by event time then arrival, each note after its event.
select id, kind, note_kind, event_row, event_type, occurred_at, received_at, body
from ticket_entries
where ticket_id = :ticket_id
order by occurred_at, kind, coalesce(event_row, id), id;

-- name: list_tickets
-- Tickets newest-updated first, keyset-paginated on (updated_at, id), optional filters
-- (queue, status, session, tag, unassigned or one assignee).
select *
from ticket_summaries as t
where (:queue is null or t.queue = :queue)
  and (:status is null or t.status = :status)
  and (:session_id is null or t.session_id = :session_id)
  and (:unassigned = 0 or t.assignee_id is null)
  and (:assignee_id is null or t.assignee_id = :assignee_id)
  and (:tag is null or exists (
        select 1 from ticket_tags as g where g.ticket_id = t.id and g.tag = :tag))
  and (:before_updated is null
       or t.updated_at < :before_updated
       or (t.updated_at = :before_updated and t.id < :before_id))
order by t.updated_at desc, t.id desc
limit :limit;

-- name: get_ticket_work^
-- The fields agents change, and the version they must have seen, of one ticket.
select id,
       session_id,
       status,
       assignee_id,
       version
from tickets
where id = :ticket_id;

-- name: update_ticket_work!
-- Store an agent's change (or an automatic reopen), one version up; nothing when the
-- ticket moved on meanwhile (the version differs).
update tickets
set status = :status,
    assignee_id = :assignee_id,
    version = version + 1,
    updated_at = max(updated_at, :now)
where id = :ticket_id
  and version = :version;

-- name: touch_ticket_version!
-- A change that needs no check (a tag Ops added, a note): one version up, updated now.
update tickets
set version = version + (case when :bump then 1 else 0 end),
    updated_at = max(updated_at, :now)
where id = :ticket_id;

-- name: remove_tag!
-- Take a tag off a ticket.
delete from ticket_tags
where ticket_id = :ticket_id
  and tag = :tag;

-- name: ticket_tag_list
-- A ticket's tags, sorted.
select tag
from ticket_tags
where ticket_id = :ticket_id
order by tag;

-- name: insert_activity<!
-- Append one change or note to a ticket's activity log (never edited afterwards).
insert into ticket_activity (ticket_id, actor_kind, actor_id, at, kind, detail, version)
values (:ticket_id, :actor_kind, :actor_id, :at, :kind, :detail, :version)
returning id;

-- name: ticket_activity
-- A ticket's changes and notes, oldest first, with the name of who made each.
select a.id,
       a.ticket_id,
       a.actor_kind,
       acc.name as actor_name,
       a.at,
       a.kind,
       a.detail,
       a.version
from ticket_activity as a
left join accounts as acc on acc.id = a.actor_id
where a.ticket_id = :ticket_id
order by a.id;

-- name: activity_after
-- Every ticket's changes and notes after a stream cursor, oldest first (stream replay).
select a.id,
       a.ticket_id,
       t.session_id,
       a.actor_kind,
       acc.name as actor_name,
       a.at,
       a.kind,
       a.detail,
       a.version
from ticket_activity as a
join tickets as t on t.id = a.ticket_id
left join accounts as acc on acc.id = a.actor_id
where a.id > :after_id
order by a.id
limit :limit;

-- name: max_activity_id$
-- The newest activity id (0 when there is none): the stream's second cursor.
select coalesce(max(id), 0)
from ticket_activity;

-- name: ticket_status_counts
-- How many tickets per status under the list's other filters (assignee, tag).
select t.status,
       count(*) as tickets
from tickets as t
where (:unassigned = 0 or t.assignee_id is null)
  and (:assignee_id is null or t.assignee_id = :assignee_id)
  and (:tag is null or exists (
        select 1 from ticket_tags as g where g.ticket_id = t.id and g.tag = :tag))
group by t.status;

-- name: queue_counts
-- Tickets per queue, as the triggers of migration 0012 keep them.
select queue,
       tickets
from ticket_queue_counts;

-- name: get_session_domain^
-- A session's domain, if Ops knows the session (taking it from the stuck list).
select session_id,
       domain
from onboard_sessions
where session_id = :session_id;
