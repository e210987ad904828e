-- name: bump_activity!
-- Add delta to one minute cell of recent activity (kind started, completed or failed).
insert into activity_minutes (minute, kind, step, code, events)
values (:minute, :kind, :step, :code, :delta)
on conflict (minute, kind, step, code) do update set events = events + excluded.events;

-- name: activity_since
-- Recent activity from a minute on: one row per minute, kind, step and code.
select minute, kind, step, code, events
from activity_minutes
where minute >= :minute
  and events <> 0;

-- name: bump_refused_attempt!
-- Count one refused attempt (an onboarding.started carrying a refusal) in its minute.
insert into refusal_minutes (minute, code, attempts)
values (:minute, :code, 1)
on conflict (minute, code) do update set attempts = attempts + 1;

-- name: refused_attempts_since
-- Refused attempts from a minute on: one row per minute and refusal code.
select minute, code, attempts
from refusal_minutes
where minute >= :minute;

-- name: purge_refusal_minutes!
-- Refused attempts' minutes older than the cutoff minute (no short window reaches them).
delete from refusal_minutes
where minute < :minute;

-- name: note_newest_event!
-- Keep the newest event time of a type.
insert into newest_events (event_type, occurred_at)
values (:event_type, :occurred_at)
on conflict (event_type) do update set occurred_at = max(occurred_at, excluded.occurred_at);

-- name: newest_events
-- The newest event time of each type seen.
select event_type, occurred_at
from newest_events;

-- name: purge_activity_minutes!
-- Activity minutes older than the cutoff minute (no short window reaches them).
delete from activity_minutes
where minute < :minute;

-- name: tickets_by_status
-- Tickets per status, from the counts the ticket triggers keep (schema 0006).
select status, tickets
from ticket_counts
where tickets <> 0;
