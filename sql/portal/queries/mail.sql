-- name: get_mail_check^
-- A session's last mail check.
select session_id, domain, mode, ready, items, sent, first_checked_at, checked_at, checks,
       next_check_at, last_trigger
from mail_checks
where session_id = :session_id;

-- name: upsert_mail_check!
-- Record a check's result and the next scheduled one.
insert into mail_checks
    (session_id, domain, mode, ready, items, sent, first_checked_at, checked_at, checks,
     next_check_at, last_trigger)
values
    (:session_id, :domain, :mode, :ready, :items, :sent, :now, :now, 1, :next_check_at,
     :trigger)
on conflict (session_id) do update set
    ready = excluded.ready,
    items = excluded.items,
    sent = coalesce(excluded.sent, mail_checks.sent),
    checked_at = excluded.checked_at,
    checks = mail_checks.checks + 1,
    next_check_at = excluded.next_check_at,
    last_trigger = excluded.last_trigger;

-- name: due_mail_checks
-- Sessions whose scheduled check is due, the longest waiting first.
select session_id
from mail_checks
where next_check_at is not null and next_check_at <= :now
order by next_check_at
limit :limit;

-- name: mail_session^
-- A session whose account step completed, with its domain and its stored DNS answer.
select session_id, domain, step, dns_result, updated_at
from sessions
where session_id = :session_id and step = 'completed';

-- name: latest_mail_session_for_domain^
-- The newest completed session of a domain.
select session_id
from sessions
where domain = :domain and step = 'completed'
order by updated_at desc
limit 1;

-- name: latest_mail_check_for_domain^
-- The newest mail check of a domain (its session may be gone from sessions).
select session_id
from mail_checks
where domain = :domain
order by checked_at desc
limit 1;

-- name: get_dkim_key^
-- The domain's DKIM key as `dkim publish` read it.
select domain, selector, txt, created_at, updated_at
from dkim_keys
where domain = :domain;

-- name: upsert_dkim_key!
-- Keep the domain's DKIM key (the public part).
insert into dkim_keys (domain, selector, txt, created_at, updated_at)
values (:domain, :selector, :txt, :now, :now)
on conflict (domain) do update set
    selector = excluded.selector,
    txt = excluded.txt,
    updated_at = excluded.updated_at;

-- name: purge_mail_checks_batch!
-- Remove one batch of mail checks whose schedule is done and that were last checked before
-- the cutoff (retention); a check still scheduled stays.
delete from mail_checks
where session_id in (
    select session_id
    from mail_checks
    where next_check_at is null and checked_at < :cutoff
    order by checked_at
    limit :batch
);
