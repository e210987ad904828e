-- name: bump_active_stage!
-- Add delta to the active sessions of one furthest stage (-1: none reached).
insert into active_by_stage (stage, sessions)
values (:stage, :delta)
on conflict (stage) do update set sessions = sessions + excluded.sessions;

-- name: active_by_stage
-- Active sessions (neither completed nor failed) per furthest stage.
select stage, sessions
from active_by_stage
where sessions <> 0;

-- name: idle_counts
-- Active sessions of one furthest stage (null: none) whose last event is in
-- [since, until): a range count on the partial index onboard_sessions_active.
select count(*)
from onboard_sessions
where status = 'active'
  and furthest_stage is :stage
  and last_event_at >= :since
  and last_event_at < :until;

-- name: step_durations_since
-- One step's duration histogram from an hour on (the usual pace of that step).
select bucket, sum(sessions) as sessions
from funnel_durations
where hour >= :hour
  and step = :step
group by bucket
having sum(sessions) > 0;
