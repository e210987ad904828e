-- Breakdowns: the funnel and the trend split by what the Portal knows of a session
-- (docs/webhook-funnel-events.md, "Breakdowns"; vm122_ops/funnel/breakdowns.py).
--
-- Each session keeps its values on its row: `language` and `release` from its
-- onboarding.started, `dns_mode` (the event's `mode`) and `previous_provider` from its
-- dns.applied; when a session has several events of one kind, the newest (event time,
-- then row id) gives that kind's values, so any arrival order ends the same.
-- started_props_at/_row and dns_props_at/_row say which event it was. Null: unknown (an
-- older Portal's events, or a session whose event has not arrived).
alter table onboard_sessions add column dns_mode text
    check (dns_mode in ('cloudflare', 'manual'));
alter table onboard_sessions add column previous_provider text
    check (previous_provider in ('microsoft365', 'google', 'other', 'none'));
alter table onboard_sessions add column language text check (language in ('pt', 'en'));
alter table onboard_sessions add column release text check (length(release) between 1 and 32);
alter table onboard_sessions add column started_props_at integer;
alter table onboard_sessions add column started_props_row integer;
alter table onboard_sessions add column dns_props_at integer;
alter table onboard_sessions add column dns_props_row integer;

-- Cohort sessions by dimension and value, keyed like funnel_rollup (hour of the
-- session's first event, furthest stage (-1: none), status as the funnel counts it, a
-- refused session apart: 0016): every session is in one
-- cell per dimension, its value '' when unknown, so each dimension's cells sum to
-- funnel_rollup's. Ingest moves a session's cells when its state or values change.
create table breakdown_rollup (
    dimension text not null check (dimension in (
        'dns_mode', 'previous_provider', 'language', 'release')),
    hour integer not null,
    value text not null,
    stage integer not null,
    status text not null,
    sessions integer not null,
    primary key (dimension, hour, value, stage, status)
) without rowid;

-- Sessions stored before this migration: the DNS mode of their newest dns.applied still
-- retained that names one (Portals before this change sent `mode` already); the other
-- values unknown.
update onboard_sessions
set (dns_mode, dns_props_at, dns_props_row) = (
    select json_extract(e.payload, '$.data.mode'), e.occurred_at, e.id
    from webhook_events as e
    where e.session_id = onboard_sessions.session_id
      and e.event_type = 'dns.applied'
      and json_valid(e.payload)
      and json_extract(e.payload, '$.data.mode') in ('cloudflare', 'manual')
    order by e.occurred_at desc, e.id desc
    limit 1
)
where dns_applied_at is not null;

insert into breakdown_rollup (dimension, hour, value, stage, status, sessions)
select d.dimension,
       s.first_event_at / 3600000,
       coalesce(case d.dimension
           when 'dns_mode' then s.dns_mode
           when 'previous_provider' then s.previous_provider
           when 'language' then s.language
           else s.release
       end, ''),
       coalesce(s.furthest_stage, -1),
       case when s.status = 'active' and s.refusal_code is not null
           then 'refused' else s.status end,
       count(*)
from onboard_sessions as s
cross join (select 'dns_mode' as dimension
            union all select 'previous_provider'
            union all select 'language'
            union all select 'release') as d
group by 1, 2, 3, 4, 5;
