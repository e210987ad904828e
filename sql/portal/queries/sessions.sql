-- name: get_session^
-- The wizard state of one session.
select
    session_id,
    domain,
    step,
    failed_stage,
    created_at,
    updated_at,
    reference,
    secret_hash,
    released_at,
    failures
from sessions
where session_id = :session_id;

-- name: session_by_secret^
-- The newest session whose wizard secret hashes to :secret_hash.
select session_id
from sessions
where secret_hash = :secret_hash
order by created_at desc
limit 1;

-- name: reference_taken^
-- Whether another session already has this support reference.
select 1 as taken
from sessions
where reference = :reference;

-- name: insert_session^
-- Start a session the first time validate-domain sees it, with its support reference and
-- the hash of its wizard secret; returns a row only when new.
insert into sessions (session_id, domain, step, created_at, updated_at, reference, secret_hash)
values (:session_id, null, 'started', :now, :now, :reference, :secret_hash)
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
    failures = 0,
    updated_at = :now
where session_id = :session_id;

-- name: set_session_failed^
-- Mark the session failed at a stage; returns the failures in a row at that stage.
update sessions
set step = 'failed',
    failures = case when failed_stage = :stage then failures + 1 else 1 end,
    failed_stage = :stage,
    updated_at = :now
where session_id = :session_id
returning failures;

-- name: release_session!
-- "Start again": the session gives up its domain at once (it no longer holds it), unless
-- its account step completed: the mailbox exists and the domain stays its customer's.
update sessions
set released_at = :now,
    updated_at = :now
where
    session_id = :session_id
    and released_at is null
    and step not in ('account_created', 'completed');

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
