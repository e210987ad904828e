-- name: bump_rollup!
-- Add delta sessions to one (hour, stage, status) cell of the funnel rollup.
insert into funnel_rollup (hour, stage, status, sessions)
values (:hour, :stage, :status, :delta)
on conflict (hour, stage, status) do update set sessions = sessions + excluded.sessions;

-- name: move_rollup!
-- Move one session from one (hour, stage, status) cell of the funnel rollup to another:
-- one statement for what ingest did as two bumps.
insert into funnel_rollup (hour, stage, status, sessions)
values (:old_hour, :old_stage, :old_status, -1),
       (:hour, :stage, :status, 1)
on conflict (hour, stage, status) do update set sessions = sessions + excluded.sessions;

-- name: bump_duration!
-- Add delta sessions to one (hour, step, bucket) cell of the step-duration histogram.
insert into funnel_durations (hour, step, bucket, sessions)
values (:hour, :step, :bucket, :delta)
on conflict (hour, step, bucket) do update set sessions = sessions + excluded.sessions;

-- name: rollup_since
-- Funnel counts for the whole hours of the window.
select stage, status, sum(sessions) as sessions
from funnel_rollup
where hour >= :hour
group by stage, status;

-- name: rollup_between
-- Funnel counts for the whole hours [hour, until): the previous window's (funnel.Previous).
select stage, status, sum(sessions) as sessions
from funnel_rollup
where hour >= :hour
  and hour < :until
group by stage, status;

-- name: durations_since
-- Step-duration histogram for the whole hours of the window.
select step, bucket, sum(sessions) as sessions
from funnel_durations
where hour >= :hour
group by step, bucket
having sum(sessions) > 0;

-- name: bump_refusal!
-- Add delta refused sessions to one (hour of first event, refusal code) cell.
insert into funnel_refusals (hour, code, sessions)
values (:hour, :code, :delta)
on conflict (hour, code) do update set sessions = sessions + excluded.sessions;

-- name: refusals_since
-- Refused sessions by code for the whole hours of the window.
select code, sum(sessions) as sessions
from funnel_refusals
where hour >= :hour
group by code
having sum(sessions) <> 0;

-- name: partial_hour_refusals
-- Refused sessions by code whose first event is in [since, until) (the partial hour);
-- a range on the partial index onboard_sessions_refused would not be ordered by first
-- event, so this reads onboard_sessions_by_first's range, which covers it (named: the
-- planner, without statistics, would take onboard_sessions_by_activity's status range).
-- The filter is shown_status = 'refused' (0021) written out: SQLite reads a generated
-- column from the table row, so the index would no longer cover the query.
select refusal_code as code, count(*) as sessions
from onboard_sessions indexed by onboard_sessions_by_first
where first_event_at >= :since
  and first_event_at < :until
  and status = 'active'
  and refusal_code is not null
group by refusal_code;
