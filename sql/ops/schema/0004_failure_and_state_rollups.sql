-- Failures by the step that failed, and the small rollups that /metrics, the Desk banner
-- and the session states read (docs/observability.md, docs/desk.md). All are kept in the
-- ingest transaction, so reading them never scans webhook_events.
-- Steps are stage indexes 0..5 (vm122_ops/ingest/events.py): the stage the failed step would
-- have reached, e.g. 3 = account_created for an account-creation failure.

-- A failed session's step that failed (vm122_ops/ingest/session_fold.py derives it: the `stage` its
-- latest failure named, kept in failure_stage, else the step after the furthest stage
-- reached by then); the funnel counts a failed session under it.
alter table onboard_sessions add column failure_stage integer
    check (failure_stage between 0 and 5);
alter table onboard_sessions add column failed_step integer check (failed_step between 0 and 5);

-- onboarding.failed events per hour of their event time, step and code (`unspecified`
-- when the event has none), with the newest one's time and reason.
create table failure_rollup (
    hour integer not null,
    step integer not null check (step between 0 and 5),
    code text not null,
    failures integer not null,
    last_seen integer not null,
    example_reason text not null,
    primary key (hour, step, code)
) without rowid;

-- Failed cohort sessions by the step that failed, keyed like funnel_rollup (hour of the
-- session's first event), moved by ingest when a session's status or failed step changes.
create table funnel_failed_steps (
    hour integer not null,
    step integer not null check (step between 0 and 5),
    sessions integer not null,
    primary key (hour, step)
) without rowid;

-- Minute-resolution activity for the short windows of /metrics and the banner (15 and 60
-- minutes): sessions started (minute of started_at), completed (minute of completed_at)
-- and failures (minute of the event, with step and code). Pruned after two days.
create table activity_minutes (
    minute integer not null,
    kind text not null check (kind in ('started', 'completed', 'failed')),
    step integer not null,
    code text not null,
    events integer not null,
    primary key (minute, kind, step, code)
) without rowid;

-- Active sessions (neither completed nor failed) by furthest stage (-1: none): with the
-- recent ones counted from an index, the abandoned ones are the difference.
create table active_by_stage (
    stage integer primary key,
    sessions integer not null
);

-- The newest event time of each type (ms), for "seconds since the newest event".
create table newest_events (
    event_type text primary key,
    occurred_at integer not null
) without rowid;

-- Active sessions by stage and last activity: the state counts (stuck, moving) are range
-- counts on this index, bounded by the activity of the abandonment horizon.
create index onboard_sessions_active on onboard_sessions (furthest_stage, last_event_at)
where status = 'active';

-- Backfill from what is stored. Failures whose raw events were purged are not recounted.
update onboard_sessions set failure_stage = (
    select case json_extract(e.payload, '$.data.stage')
        when 'started' then 0 when 'domain_validated' then 1 when 'dns_applied' then 2
        when 'account_created' then 3 when 'infra_synced' then 4 when 'completed' then 5
    end
    from webhook_events as e
    where e.id = onboard_sessions.last_event_row
)
where status = 'failed';

update onboard_sessions set failed_step = (
    select case json_extract(e.payload, '$.data.stage')
        when 'started' then 0 when 'domain_validated' then 1 when 'dns_applied' then 2
        when 'account_created' then 3 when 'infra_synced' then 4 when 'completed' then 5
        else min(coalesce(onboard_sessions.furthest_stage + 1, 0), 5)
    end
    from webhook_events as e
    where e.id = onboard_sessions.last_event_row
)
where status = 'failed';

insert into funnel_failed_steps (hour, step, sessions)
select first_event_at / 3600000, failed_step, count(*)
from onboard_sessions
where status = 'failed' and failed_step is not null
group by 1, 2;

insert into failure_rollup (hour, step, code, failures, last_seen, example_reason)
select hour, step, code, count(*), max(occurred_at), reason
from (
    select e.occurred_at / 3600000 as hour,
           case json_extract(e.payload, '$.data.stage')
               when 'started' then 0 when 'domain_validated' then 1 when 'dns_applied' then 2
               when 'account_created' then 3 when 'infra_synced' then 4 when 'completed' then 5
               else min(coalesce(s.furthest_stage + 1, 0), 5)
           end as step,
           coalesce(nullif(cast(json_extract(e.payload, '$.data.code') as text), ''), 'unspecified')
               as code,
           e.occurred_at,
           substr(coalesce(json_extract(e.payload, '$.data.reason'), ''), 1, 500) as reason
    from webhook_events as e
    join onboard_sessions as s on s.session_id = e.session_id
    where e.event_type = 'onboarding.failed'
    order by e.occurred_at
)
group by hour, step, code;

insert into active_by_stage (stage, sessions)
select coalesce(furthest_stage, -1), count(*)
from onboard_sessions
where status = 'active'
group by 1;

insert into newest_events (event_type, occurred_at)
select event_type, max(occurred_at)
from webhook_events
group by event_type;

-- The last two days of activity (older minutes are never read).
insert into activity_minutes (minute, kind, step, code, events)
select started_at / 60000, 'started', -1, '', count(*)
from onboard_sessions
where started_at >= (cast(strftime('%s', 'now') as integer) - 172800) * 1000
group by 1;

insert into activity_minutes (minute, kind, step, code, events)
select completed_at / 60000, 'completed', -1, '', count(*)
from onboard_sessions
where completed_at >= (cast(strftime('%s', 'now') as integer) - 172800) * 1000
group by 1;

insert into activity_minutes (minute, kind, step, code, events)
select e.occurred_at / 60000,
       'failed',
       case json_extract(e.payload, '$.data.stage')
           when 'started' then 0 when 'domain_validated' then 1 when 'dns_applied' then 2
           when 'account_created' then 3 when 'infra_synced' then 4 when 'completed' then 5
           else min(coalesce(s.furthest_stage + 1, 0), 5)
       end,
       coalesce(nullif(cast(json_extract(e.payload, '$.data.code') as text), ''), 'unspecified'),
       count(*)
from webhook_events as e
join onboard_sessions as s on s.session_id = e.session_id
where e.event_type = 'onboarding.failed'
  and e.occurred_at >= (cast(strftime('%s', 'now') as integer) - 172800) * 1000
group by 1, 2, 3, 4;

-- The funnel's covering index now carries the failed step too (the partial first hour).
drop index onboard_sessions_by_first;
create index onboard_sessions_by_first on onboard_sessions (
    first_event_at,
    furthest_stage,
    status,
    failed_step,
    step0_bucket,
    step1_bucket,
    step2_bucket,
    step3_bucket,
    step4_bucket
);
