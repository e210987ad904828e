-- name: domain_holders
-- Other sessions that hold or onboarded a domain: the owner of the domain or of a domain
-- it is under (:names, a JSON array of the name and its parents), its infrastructure
-- record's owner, and sessions that validated it (the caller applies the hold period and
-- the proof rule).
select
    session_id,
    'owner' as kind,
    'completed' as step,
    owned_at as updated_at,
    'txt' as proven_by,
    domain
from domain_owners
where domain in (select value from json_each(:names)) and session_id != :session_id
union all
select
    session_id,
    'infra' as kind,
    'completed' as step,
    updated_at,
    'txt' as proven_by,
    domain
from infra
where domain = :domain and session_id != :session_id
union all
select
    session_id,
    'session' as kind,
    step,
    updated_at,
    proven_by,
    domain
from sessions
where domain = :domain and session_id != :session_id and released_at is null;

-- name: record_domain_owner!
-- The session that onboarded a domain; the first owner stays.
insert into domain_owners (domain, session_id, owned_at)
values (:domain, :session_id, :now)
on conflict (domain) do nothing;

-- name: get_ownership^
-- What a session has established about its domain.
select
    domain,
    carbonio_domain_created_at,
    proof_token,
    proven_by,
    dns_result
from sessions
where session_id = :session_id;

-- name: set_proof_token!
-- The TXT token a session must publish for its domain (new domain: not proven yet).
update sessions
set proof_token = :token,
    proven_by = null
where session_id = :session_id;

-- name: set_proven!
-- Control of the session's domain proven (txt) or granted by an operator (grant).
update sessions
set proven_by = :proven_by,
    updated_at = :now
where session_id = :session_id and domain = :domain;

-- name: set_carbonio_domain_created!
-- This session's CreateDomainRequest created the domain on Carbonio.
update sessions
set carbonio_domain_created_at = :now
where session_id = :session_id;

-- name: set_dns_result!
-- The DNS step's answer, returned as it is to any later call of the step.
update sessions
set dns_result = :result
where session_id = :session_id;
