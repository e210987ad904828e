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
