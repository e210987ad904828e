-- name: bump_active_stage!
-- Add delta to the active sessions of one furthest stage (-1: none reached).
insert into active_by_stage (stage, sessions)
values (:stage, :delta)
on conflict (stage) do update set sessions = sessions + excluded.sessions;

-- name: move_active_stage!
-- Move one active session from one furthest stage to another (-1: none reached).
insert into active_by_stage (stage, sessions)
values (:old_stage, -1),
       (:stage, 1)
on conflict (stage) do update set sessions = sessions + excluded.sessions;

-- name: active_by_stage
-- Active sessions (neither completed nor failed) per furthest stage.
select stage, sessions
from active_by_stage
where sessions <> 0;

-- name: idle_counts
-- Active sessions of one furthest stage (null: none) whose last event is in
-- [since, until): a range count on the partial index onboard_sessions_active (refused
-- sessions are not in it).
-- The filter is shown_status = 'active' (0021) written out: a partial index
-- (onboard_sessions_active) is used only when the query's WHERE says its WHERE.
select count(*) as sessions
from onboard_sessions
where status = 'active'
  and refusal_code is null
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

-- name: idle_active_sessions
-- Active sessions whose last event is in [since, until), longest idle first (the banner's
-- stuck candidates, refused ones apart; index onboard_sessions_by_activity).
-- The filter is shown_status = 'active' (0021) written out: the column is in no index,
-- and on it the planner would leave onboard_sessions_by_activity's status range.
select session_id, domain, furthest_stage, last_event_at
from onboard_sessions
where status = 'active'
  and refusal_code is null
  and last_event_at >= :since
  and last_event_at < :until
order by last_event_at
limit :limit;

-- name: recent_failed_sessions
-- Sessions whose newest event is a failure since a time, newest first.
select session_id, domain, furthest_stage, last_event_at
from onboard_sessions
where status = 'failed'
  and last_event_at >= :since
order by last_event_at desc
limit :limit;

-- name: latest_started_session
-- The sessions with the newest first event (what the Portal sent last).
select session_id, domain, furthest_stage, last_event_at
from onboard_sessions
order by first_event_at desc
limit :limit;
