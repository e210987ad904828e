-- name: bump_failure!
-- Count one onboarding.failed in its (hour, step, code) cell; the newest keeps its reason.
insert into failure_rollup (hour, step, code, failures, last_seen, example_reason)
values (:hour, :step, :code, 1, :at, :reason)
on conflict (hour, step, code) do update set
    failures = failures + 1,
    example_reason = case
        when excluded.last_seen >= last_seen then excluded.example_reason
        else example_reason
    end,
    last_seen = max(last_seen, excluded.last_seen);

-- name: failures_since
-- Failures from an hour on, by step and code, most frequent first; the reason is the
-- newest failure's (SQLite takes a bare column from the row of the single max()).
select step,
       code,
       sum(failures) as failures,
       max(last_seen) as last_seen,
       example_reason
from failure_rollup
where hour >= :hour
group by step, code
order by step, failures desc, code;

-- name: bump_failed_step!
-- Add delta failed sessions to one (hour of first event, failed step) funnel cell.
insert into funnel_failed_steps (hour, step, sessions)
values (:hour, :step, :delta)
on conflict (hour, step) do update set sessions = sessions + excluded.sessions;

-- name: failed_steps_since
-- Failed cohort sessions by the step that failed, for the whole hours of the window.
select step, sum(sessions) as sessions
from funnel_failed_steps
where hour >= :hour
group by step;

-- name: partial_hour_failed_steps
-- The same for the window's partial first hour [since, until), from the covering index
-- (named: the planner, without statistics, would take onboard_sessions_by_activity's
-- range of every failed session).
select failed_step as step,
       count(*) as sessions
from onboard_sessions indexed by onboard_sessions_by_first
where first_event_at >= :since
  and first_event_at < :until
  and status = 'failed'
  and failed_step is not null
group by failed_step;
