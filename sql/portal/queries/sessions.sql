-- name: get_session^
-- The wizard state of one session.
select
    session_id,
    domain,
    step,
    failed_stage,
    created_at,
    updated_at
from sessions
where session_id = :session_id;

-- name: insert_session^
-- Start a session the first time validate-domain sees it; returns a row only when new.
insert into sessions (session_id, domain, step, created_at, updated_at)
values (:session_id, null, 'started', :now, :now)
on conflict (session_id) do nothing
returning session_id;

-- name: set_session_domain!
-- Record the validated domain and move the session to domain_validated; what the session
-- established about a previous domain (proof, DNS answer, Carbonio domain) is forgotten.
update sessions
set domain = :domain,
    step = 'domain_validated',
    failed_stage = null,
    updated_at = :now,
    proof_token = null,
    proven_by = null,
    dns_result = null,
    carbonio_domain_created_at = null
where session_id = :session_id;

-- name: set_session_step!
-- Move the session to a later step.
update sessions
set step = :step,
    failed_stage = null,
    updated_at = :now
where session_id = :session_id;

-- name: set_session_failed!
-- Mark the session failed at a stage.
update sessions
set step = 'failed',
    failed_stage = :stage,
    updated_at = :now
where session_id = :session_id;

-- name: purge_sessions_batch!
-- Remove one batch of wizard sessions without activity since the cutoff (retention).
delete from sessions
where session_id in (
    select session_id
    from sessions
    where updated_at < :cutoff
    order by updated_at
    limit :batch
);
