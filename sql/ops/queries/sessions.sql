-- name: get_session^
-- One session's derived state.
select *
from onboard_sessions
where session_id = :session_id;

-- name: get_session_and_ticket^
-- One session's derived state and its ticket's id (null without one), for ingest: one
-- read where there were two.
select s.*,
       t.id as ticket_id
from onboard_sessions as s
left join tickets as t on t.session_id = s.session_id
where s.session_id = :session_id;

-- name: upsert_session!
-- Write a session's derived state after folding in one event, with its breakdown values
-- and which events gave them (vm122_ops/funnel/breakdowns.py). Its domain search keys
-- (vm122_ops/tickets/search.py) come with a new session or a changed domain, and are null
-- otherwise, which keeps the stored ones: the row is written once per event, and a new
-- session's document reaches the trigram index once (its insert trigger, migration 0013).
insert into onboard_sessions (
    session_id,
    domain,
    first_event_at,
    last_event_at,
    last_event_type,
    last_event_row,
    furthest_stage,
    status,
    event_count,
    started_at,
    domain_validated_at,
    dns_applied_at,
    account_created_at,
    infra_synced_at,
    completed_at,
    step0_bucket,
    step1_bucket,
    step2_bucket,
    step3_bucket,
    step4_bucket,
    failure_stage,
    failed_step,
    failure_code,
    refusal_code,
    refusal_at,
    domain_key,
    domain_ascii,
    dns_mode,
    previous_provider,
    language,
    release,
    started_props_at,
    started_props_row,
    dns_props_at,
    dns_props_row
)
values (
    :session_id, :domain, :first_event_at, :last_event_at, :last_event_type, :last_event_row,
    :furthest_stage, :status, :event_count, :started_at, :domain_validated_at,
    :dns_applied_at, :account_created_at, :infra_synced_at, :completed_at,
    :step0_bucket, :step1_bucket, :step2_bucket, :step3_bucket, :step4_bucket,
    :failure_stage, :failed_step, :failure_code, :refusal_code, :refusal_at,
    :domain_key, :domain_ascii, :dns_mode, :previous_provider, :language, :release,
    :started_props_at, :started_props_row, :dns_props_at, :dns_props_row
)
on conflict (session_id) do update set
    domain = excluded.domain,
    first_event_at = excluded.first_event_at,
    last_event_at = excluded.last_event_at,
    last_event_type = excluded.last_event_type,
    last_event_row = excluded.last_event_row,
    furthest_stage = excluded.furthest_stage,
    status = excluded.status,
    event_count = excluded.event_count,
    started_at = excluded.started_at,
    domain_validated_at = excluded.domain_validated_at,
    dns_applied_at = excluded.dns_applied_at,
    account_created_at = excluded.account_created_at,
    infra_synced_at = excluded.infra_synced_at,
    completed_at = excluded.completed_at,
    step0_bucket = excluded.step0_bucket,
    step1_bucket = excluded.step1_bucket,
    step2_bucket = excluded.step2_bucket,
    step3_bucket = excluded.step3_bucket,
    step4_bucket = excluded.step4_bucket,
    failure_stage = excluded.failure_stage,
    failed_step = excluded.failed_step,
    failure_code = excluded.failure_code,
    refusal_code = excluded.refusal_code,
    refusal_at = excluded.refusal_at,
    domain_key = coalesce(excluded.domain_key, domain_key),
    domain_ascii = coalesce(excluded.domain_ascii, domain_ascii),
    dns_mode = excluded.dns_mode,
    previous_provider = excluded.previous_provider,
    language = excluded.language,
    release = excluded.release,
    started_props_at = excluded.started_props_at,
    started_props_row = excluded.started_props_row,
    dns_props_at = excluded.dns_props_at,
    dns_props_row = excluded.dns_props_row;

-- name: active_sessions
-- Cohort sessions still in progress (refused ones apart), most recent activity first.
-- The filter is shown_status = 'active' (0021) written out: the column is in no index,
-- and on it the planner would leave onboard_sessions_by_activity's status range.
select session_id,
       domain,
       furthest_stage,
       last_event_type,
       last_event_at,
       started_at,
       first_event_at,
       contact
from onboard_sessions
where status = 'active'
  and refusal_code is null
  and first_event_at >= :since
order by last_event_at desc
limit :limit;

-- name: partial_hour
-- The funnel's partial first hour [since, until): sessions by (stage, status), and by
-- (step, duration bucket); read from the covering index onboard_sessions_by_first
-- (a refused session, active with a refusal code, counts as `refused`: the code is in the
-- index since migration 0019). The status is shown_status's definition (0021) written out,
-- not the column: SQLite reads a generated column from the table row, so naming it here
-- would read every session row of the hour instead of the index alone.
with cohort as (
    select coalesce(furthest_stage, -1) as stage,
           case when status = 'active' and refusal_code is not null
               then 'refused' else status end as status,
           step0_bucket,
           step1_bucket,
           step2_bucket,
           step3_bucket,
           step4_bucket
    from onboard_sessions
    where first_event_at >= :since
      and first_event_at < :until
)
select 'stage' as kind, stage as key, status as value, count(*) as sessions
from cohort group by stage, status
union all
select 'step', 0, step0_bucket, count(*) from cohort
where step0_bucket is not null group by step0_bucket
union all
select 'step', 1, step1_bucket, count(*) from cohort
where step1_bucket is not null group by step1_bucket
union all
select 'step', 2, step2_bucket, count(*) from cohort
where step2_bucket is not null group by step2_bucket
union all
select 'step', 3, step3_bucket, count(*) from cohort
where step3_bucket is not null group by step3_bucket
union all
select 'step', 4, step4_bucket, count(*) from cohort
where step4_bucket is not null group by step4_bucket;

-- name: partial_hour_sessions
-- The sessions whose first event falls in [since, until) (one hour), oldest first: the
-- funnel's kept basis (vm122_ops/kept/funnel_basis.py) adds the part a window covers.
select session_id,
       domain,
       furthest_stage,
       shown_status as status,
       last_event_type,
       last_event_at,
       started_at,
       first_event_at,
       contact,
       failed_step,
       refusal_code,
       step0_bucket,
       step1_bucket,
       step2_bucket,
       step3_bucket,
       step4_bucket
from onboard_sessions
where first_event_at >= :since
  and first_event_at < :until
order by first_event_at;

-- name: recent_active_sessions
-- Active sessions first seen from :cohort_since whose last event is from :since on: the
-- funnel's kept basis counts its moving and stuck sessions from them in memory.
-- The filter is shown_status = 'active' (0021) written out: the column is in no index,
-- and on it the planner would leave onboard_sessions_by_activity's status range.
select furthest_stage,
       first_event_at,
       last_event_at
from onboard_sessions
where status = 'active'
  and refusal_code is null
  and last_event_at >= :since
  and first_event_at >= :cohort_since;
