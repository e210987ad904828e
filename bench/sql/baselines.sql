-- The funnel computed the naive ways, side by side with Ops' rollups (bench/baselines.py).
-- Both compute only the (furthest stage, status) cells of the cohort: no step durations,
-- no active-session list. They do less than Ops' funnel, so their ratios are lower bounds.

-- name: naive_funnel
-- The seed's plan: aggregate webhook_events at request time, reading the session, the
-- type and the time out of each JSON payload with json_extract.
with events as (
    select json_extract(payload, '$.data.session_id') as session_id,
           json_extract(payload, '$.type') as event_type,
           json_extract(payload, '$.timestamp') as ts
    from webhook_events
),
sessions as (
    select session_id,
           min(ts) as first_ts,
           max(case event_type
                   when 'onboarding.started' then 0
                   when 'domain.validated' then 1
                   when 'dns.applied' then 2
                   when 'account.created' then 3
                   when 'infra.synced' then 4
                   when 'onboarding.completed' then 5
               end) as stage,
           max(event_type = 'onboarding.completed') as completed,
           max(ts || ' ' || event_type) as latest
    from events
    group by session_id
)
select coalesce(stage, -1) as stage,
       case
           when completed then 'completed'
           when latest like '% onboarding.failed' then 'failed'
           else 'active'
       end as status,
       count(*) as sessions
from sessions
where first_ts >= :since
group by 1, 2;

-- name: export_rows
-- The rows DuckDB gets: the denormalised columns, the same events.
select session_id, event_type, occurred_at
from webhook_events;

-- name: duckdb_funnel
-- DuckDB (columnar, vectorised) over the same rows; $since in ms since the epoch.
with sessions as (
    select session_id,
           min(occurred_at) as first_at,
           max(case event_type
                   when 'onboarding.started' then 0
                   when 'domain.validated' then 1
                   when 'dns.applied' then 2
                   when 'account.created' then 3
                   when 'infra.synced' then 4
                   when 'onboarding.completed' then 5
               end) as stage,
           bool_or(event_type = 'onboarding.completed') as completed,
           arg_max(event_type, occurred_at) as latest_type
    from webhook_events
    group by session_id
)
select coalesce(stage, -1) as stage,
       case
           when completed then 'completed'
           when latest_type = 'onboarding.failed' then 'failed'
           else 'active'
       end as status,
       count(*) as sessions
from sessions
where first_at >= $since
group by 1, 2;
