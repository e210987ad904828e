-- name: get_session^
-- One session's derived state.
select *
from onboard_sessions
where session_id = :session_id;

-- name: upsert_session!
-- Write a session's derived state after folding in one event.
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
    completed_at
)
values (
    :session_id, :domain, :first_event_at, :last_event_at, :last_event_type, :last_event_row,
    :furthest_stage, :status, :event_count, :started_at, :domain_validated_at,
    :dns_applied_at, :account_created_at, :infra_synced_at, :completed_at
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
    completed_at = excluded.completed_at;

-- name: active_sessions
-- Cohort sessions still in progress, most recent activity first.
select session_id,
       domain,
       furthest_stage,
       last_event_type,
       last_event_at,
       started_at,
       first_event_at
from onboard_sessions
where status = 'active'
  and first_event_at >= :since
order by last_event_at desc
limit :limit;

-- name: sessions_first_between
-- Sessions whose first event falls in [since, until): the funnel's partial first hour.
select *
from onboard_sessions
where first_event_at >= :since
  and first_event_at < :until;
