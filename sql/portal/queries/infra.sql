-- name: upsert_infra^
-- The infrastructure record of a domain (stands in for the provider's inventory). Only
-- the session that owns the record may update it: for another session's domain no row
-- comes back and nothing changes (issue 17: an attacker's session overwrote it).
insert into infra (domain, session_id, account, plan, mailbox_quota_mb, created_at, updated_at)
values (:domain, :session_id, :account, :plan, :mailbox_quota_mb, :now, :now)
on conflict (domain) do update
set account = excluded.account,
    plan = excluded.plan,
    mailbox_quota_mb = excluded.mailbox_quota_mb,
    updated_at = excluded.updated_at
where infra.session_id = excluded.session_id
returning
    domain,
    plan,
    mailbox_quota_mb;

-- name: purge_infra_batch!
-- Remove one batch of infrastructure records not updated since the cutoff (retention).
delete from infra
where domain in (
    select domain
    from infra
    where updated_at < :cutoff
    order by updated_at
    limit :batch
);
