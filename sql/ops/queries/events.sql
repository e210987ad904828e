-- name: insert_event<!
-- Store an accepted webhook; returns nothing when its event_id is already stored.
insert into webhook_events (
    event_id,
    session_id,
    event_type,
    domain,
    occurred_at,
    received_at,
    payload
)
values (:event_id, :session_id, :event_type, :domain, :occurred_at, :received_at, :payload)
on conflict (event_id) do nothing
returning id;

-- name: get_event_by_event_id^
-- The stored row of a webhook-id, to answer a duplicate delivery.
select id, event_id, session_id, event_type
from webhook_events
where event_id = :event_id;

-- name: session_events
-- A session's events in timeline order: event time, then arrival.
select id,
       session_id,
       domain,
       event_type,
       occurred_at,
       received_at,
       payload
from webhook_events
where session_id = :session_id
order by occurred_at, id;

-- name: events_after
-- Stored events after a row id, oldest first, for SSE replay.
select e.id,
       e.session_id,
       e.domain,
       e.event_type,
       e.occurred_at,
       e.received_at,
       e.payload,
       s.furthest_stage,
       s.shown_status as status,
       t.id as ticket_id
from webhook_events as e
join onboard_sessions as s on s.session_id = e.session_id
left join tickets as t on t.session_id = e.session_id
where e.id > :after_id
order by e.id
limit :limit;

-- name: max_event_row$
-- The newest row id (the SSE stream's current position).
select coalesce(max(id), 0) as head from webhook_events;

-- name: remember_webhook_id<!
-- Note a webhook-id as seen; returns nothing when it was seen before (stored, or stored
-- and purged by retention since).
insert into webhook_ids_seen (event_id, received_at)
values (:event_id, :received_at)
on conflict (event_id) do nothing
returning event_id;
