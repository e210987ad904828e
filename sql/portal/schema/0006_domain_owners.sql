-- Who onboarded each domain, for good (issue 26): one row per onboarded domain, written
-- with its infrastructure record and never pruned by retention, so a domain (and every
-- name under it) stays its customer's after the infra row and the session are gone.
create table domain_owners (
    domain text primary key,
    session_id text not null,
    owned_at real not null
) without rowid;

-- Domains onboarded before this table existed.
insert or ignore into domain_owners (domain, session_id, owned_at)
select domain, session_id, created_at from infra;

insert or ignore into domain_owners (domain, session_id, owned_at)
select domain, session_id, updated_at from sessions
where domain is not null and step in ('account_created', 'completed');
