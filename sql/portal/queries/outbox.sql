-- name: insert_outbox_event^
-- Queue one event for Ops; a webhook-id already queued is kept as it is (no row returned).
insert into outbox (
    webhook_id,
    event_type,
    session_id,
    body,
    created_at,
    next_attempt_at,
    request_id
)
values (:webhook_id, :event_type, :session_id, :body, :now, :now, :request_id)
on conflict (webhook_id) do nothing
returning id;

-- name: due_batch
-- The dispatcher's next batch: every pending event of the sessions whose oldest pending
-- event is due (at most :limit sessions, the longest waiting first), in creation order.
-- The dispatcher sends them in that order and stops a session at its first event that
-- is not delivered, so each session's events still go in order.
with heads as (
    select o.session_id
    from outbox as o
    where
        o.state = 'pending'
        and o.next_attempt_at <= :now
        and not exists (
            select 1
            from outbox as e
            where e.session_id = o.session_id and e.state = 'pending' and e.id < o.id
        )
    order by o.id
    limit :limit
)
select
    o.id,
    o.webhook_id,
    o.event_type,
    o.session_id,
    o.body,
    o.created_at,
    o.attempts,
    o.next_attempt_at,
    o.redriven_at,
    o.request_id
from outbox as o
where o.state = 'pending' and o.session_id in (select h.session_id from heads as h)
order by o.id
limit :limit;

-- name: next_attempt_at$
-- When the earliest waiting session head is due (the dispatcher sleeps until then).
select min(o.next_attempt_at)
from outbox as o
where
    o.state = 'pending'
    and not exists (
        select 1
        from outbox as e
        where e.session_id = o.session_id and e.state = 'pending' and e.id < o.id
    );

-- name: mark_delivered!
-- Ops acknowledged the event (202, or 200 duplicate).
update outbox
set state = 'delivered',
    attempts = attempts + 1,
    last_attempt_at = :now,
    last_status = :status,
    last_error = null,
    delivered_at = :now
where id = :id and state = 'pending';

-- name: schedule_retry!
-- A retryable failure: count the attempt and wait until next_attempt_at.
update outbox
set attempts = attempts + 1,
    last_attempt_at = :now,
    last_status = :status,
    last_error = :error,
    next_attempt_at = :next_attempt_at
where id = :id and state = 'pending';

-- name: mark_dead!
-- Give up on the event: a permanent rejection, or too old.
update outbox
set state = 'dead',
    attempts = attempts + 1,
    last_attempt_at = :now,
    last_status = :status,
    last_error = :error,
    dead_at = :now
where id = :id and state = 'pending';

-- name: list_dead_for_redrive
-- Every dead letter with what redrive checks before sending it again.
select
    id,
    webhook_id,
    session_id,
    body
from outbox
where state = 'dead'
order by id;

-- name: redrive_one!
-- Send one dead letter again from now on (python -m vm112_portal outbox redrive).
update outbox
set state = 'pending',
    attempts = 0,
    next_attempt_at = :now,
    dead_at = null,
    redriven_at = :now
where id = :id and state = 'dead';

-- name: outbox_status^
-- Figures for /healthz.
select
    count(*) filter (where state = 'pending') as pending,
    count(*) filter (where state = 'dead') as dead,
    count(*) filter (where state = 'delivered') as delivered,
    min(created_at) filter (where state = 'pending') as oldest_pending_at
from outbox;

-- name: last_outbox_error^
-- The most recent delivery error still recorded on a pending or dead event.
select
    webhook_id,
    event_type,
    last_status,
    last_error,
    last_attempt_at
from outbox
where last_error is not null and state != 'delivered'
order by last_attempt_at desc
limit 1;
-- name: count_delivered_before$
-- How many delivered events a purge with this cutoff would remove.
select count(*)
from outbox
where state = 'delivered' and delivered_at < :cutoff;

-- name: purge_delivered_batch!
-- Remove one small batch of events delivered before the cutoff (oldest first); pending
-- events and dead letters are never pruned.
delete from outbox
where id in (
    select id
    from outbox
    where state = 'delivered' and delivered_at < :cutoff
    order by id
    limit :batch
);

-- name: list_dead
-- Dead letters, oldest first (what python -m vm112_portal outbox drop-dead would remove).
select
    webhook_id,
    event_type,
    session_id,
    last_status,
    last_error,
    dead_at
from outbox
where state = 'dead'
order by id
limit :limit;

-- name: drop_dead!
-- Remove every dead letter for good (python -m vm112_portal outbox drop-dead).
delete from outbox
where state = 'dead'
returning id;

-- name: replay_plan^
-- What `outbox replay --since` would queue again: events Ops acknowledged at or after
-- :since (every event created since then included), and the newest such row now.
select
    count(*) as events,
    min(id) as first_id,
    max(id) as last_id,
    min(created_at) as first_created_at,
    max(created_at) as last_created_at
from outbox
where state = 'delivered' and delivered_at >= :since;

-- name: replay_delivered_batch
-- Queue one batch of those events again, oldest first, keeping their webhook-id and body
-- (python -m vm112_portal outbox replay). Only ids after :after_id and up to :last_id, so
-- a row the dispatcher re-delivers meanwhile is not queued twice by the same replay.
-- The maximum age counts from now for them, as for a redrive.
update outbox
set state = 'pending',
    attempts = 0,
    next_attempt_at = :now,
    redriven_at = :now
where id in (
    select id
    from outbox
    where state = 'delivered'
        and delivered_at >= :since
        and id > :after_id
        and id <= :last_id
    order by id
    limit :batch
)
returning id;
