-- name: upsert_infra^
-- The infrastructure record of a domain (stands in for the provider's inventory).
insert into infra (domain, session_id, account, plan, mailbox_quota_mb, created_at, updated_at)
values (:domain, :session_id, :account, :plan, :mailbox_quota_mb, :now, :now)
on conflict (domain) do update
set session_id = excluded.session_id,
    account = excluded.account,
    plan = excluded.plan,
    mailbox_quota_mb = excluded.mailbox_quota_mb,
    updated_at = excluded.updated_at
returning
    domain,
    plan,
    mailbox_quota_mb;
