-- Refused attempts (docs/desk.md, "Session states"; docs/webhook-funnel-events.md,
-- "Refused attempts"): a session whose onboarding.started carried a refusal and that never
-- got a domain validated is `refused`, counted apart from moving, stuck and abandoned.

-- The session's newest refusal (by event time, then code) and that event's time, kept
-- until a stage past started is reached (then null). Its `status` stays 'active' (the
-- CHECK of 0001): active with a refusal code is refused.
alter table onboard_sessions add column refusal_code text;
alter table onboard_sessions add column refusal_at integer;

-- Backfill from the events still stored: Portals before this change sent a refused
-- attempt's onboarding.started with the domain '(rejected)' and no code: `unspecified`.
update onboard_sessions
set (refusal_code, refusal_at) = (
    select coalesce(cast(json_extract(e.payload, '$.data.refusal.code') as text), 'unspecified'),
           e.occurred_at
    from webhook_events as e
    where e.session_id = onboard_sessions.session_id
      and e.event_type = 'onboarding.started'
      and (e.domain = '(rejected)' or json_type(e.payload, '$.data.refusal') = 'object')
    order by e.occurred_at desc, 1 desc
    limit 1
)
where furthest_stage = 0;

-- The funnel rollup counts a refused session under the status 'refused', not 'active'.
insert into funnel_rollup (hour, stage, status, sessions)
select first_event_at / 3600000, 0, 'refused', count(*)
from onboard_sessions
where status = 'active' and refusal_code is not null
group by 1
on conflict (hour, stage, status) do update set sessions = sessions + excluded.sessions;

insert into funnel_rollup (hour, stage, status, sessions)
select first_event_at / 3600000, 0, 'active', -count(*)
from onboard_sessions
where status = 'active' and refusal_code is not null
group by 1
on conflict (hour, stage, status) do update set sessions = sessions + excluded.sessions;

update active_by_stage
set sessions = sessions - (
    select count(*) from onboard_sessions where status = 'active' and refusal_code is not null
)
where stage = 0;

-- Refused cohort sessions per hour of their first event and code, moved at ingest like
-- funnel_rollup: the funnel's `refused_by_code`.
create table funnel_refusals (
    hour integer not null,
    code text not null,
    sessions integer not null,
    primary key (hour, code)
) without rowid;

insert into funnel_refusals (hour, code, sessions)
select first_event_at / 3600000, refusal_code, count(*)
from onboard_sessions
where status = 'active' and refusal_code is not null
group by 1, 2;

-- Active sessions by stage and activity no longer hold the refused ones (the state counts
-- and the drill-down's moving and stuck lists never count them).
drop index onboard_sessions_active;
create index onboard_sessions_active on onboard_sessions (furthest_stage, last_event_at, status)
where status = 'active' and refusal_code is null;

-- The drill-down's refused list and its total: a range per cohort start.
create index onboard_sessions_refused on onboard_sessions (
    last_event_at,
    session_id,
    first_event_at,
    refusal_code
)
where status = 'active' and refusal_code is not null;
