-- name: add_breakdowns!
-- A new session in one breakdown_rollup cell per dimension ('' when its value is unknown).
insert into breakdown_rollup (dimension, hour, value, stage, status, sessions)
values ('dns_mode', :hour, :dns_mode, :stage, :status, 1),
       ('previous_provider', :hour, :previous_provider, :stage, :status, 1),
       ('language', :hour, :language, :stage, :status, 1),
       ('release', :hour, :release, :stage, :status, 1)
on conflict (dimension, hour, value, stage, status) do update
set sessions = sessions + excluded.sessions;

-- name: move_breakdowns!
-- Move a session from its old breakdown_rollup cells to its new ones, one statement for
-- the four dimensions (a cell that did not change gets -1 then +1).
insert into breakdown_rollup (dimension, hour, value, stage, status, sessions)
values ('dns_mode', :old_hour, :old_dns_mode, :old_stage, :old_status, -1),
       ('previous_provider', :old_hour, :old_previous_provider, :old_stage, :old_status, -1),
       ('language', :old_hour, :old_language, :old_stage, :old_status, -1),
       ('release', :old_hour, :old_release, :old_stage, :old_status, -1),
       ('dns_mode', :hour, :dns_mode, :stage, :status, 1),
       ('previous_provider', :hour, :previous_provider, :stage, :status, 1),
       ('language', :hour, :language, :stage, :status, 1),
       ('release', :hour, :release, :stage, :status, 1)
on conflict (dimension, hour, value, stage, status) do update
set sessions = sessions + excluded.sessions;

-- name: breakdown_since
-- One dimension's cohort cells for the whole hours of a window, by value: a few rows
-- per value whatever the number of sessions.
select value,
       stage,
       status,
       sum(sessions) as sessions
from breakdown_rollup
where dimension = :dimension
  and hour >= :hour
group by value, stage, status
having sum(sessions) > 0;

-- name: breakdown_partial_hour
-- The sessions whose first event falls in [since, until) (one hour), oldest first, with
-- their values: the breakdown's kept basis adds the part a window covers. The status
-- as the rollups count it: shown_status (0021; a refused session reads `refused`).
select first_event_at,
       coalesce(furthest_stage, -1) as stage,
       shown_status as status,
       coalesce(dns_mode, '') as dns_mode,
       coalesce(previous_provider, '') as previous_provider,
       coalesce(language, '') as language,
       coalesce(release, '') as release
from onboard_sessions
where first_event_at >= :since
  and first_event_at < :until
order by first_event_at;

-- name: breakdown_trend_periods
-- One dimension's cohort sessions per period (:size hours from :hour on, numbered from 0)
-- and value: entered, and of those completed, failed and refused. The trend split: a row
-- per period and value (summed here, not in Python: 90 days by release is 1,170 rows
-- instead of every hour's cells).
select (hour - :hour) / :size as period,
       value,
       sum(sessions) as entered,
       sum(case when status = 'completed' then sessions else 0 end) as completed,
       sum(case when status = 'failed' then sessions else 0 end) as failed,
       sum(case when status = 'refused' then sessions else 0 end) as refused
from breakdown_rollup
where dimension = :dimension
  and hour >= :hour
group by period, value
having sum(sessions) > 0;
