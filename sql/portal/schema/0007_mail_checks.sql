-- The mail check (vm112_portal/mail_check.py): per session, the last result and when the
-- schedule checks again; and the DKIM key of each domain as `dkim publish` read it from
-- zmdkimkeyutil (its public part only: the private key is never stored).

create table mail_checks (
    session_id text primary key,
    domain text not null,
    -- 'cloudflare' or 'manual' (the DNS step's mode), kept so the check outlives the session
    mode text not null check (mode in ('cloudflare', 'manual')),
    ready integer not null check (ready in (0, 1)),
    -- the items of the last check (JSON), and what was last sent in mail.checked
    items text not null,
    sent text,
    first_checked_at real not null,
    checked_at real not null,
    checks integer not null,
    -- null: the schedule is done (ready, or past its last day)
    next_check_at real,
    last_trigger text not null
) strict;
create index mail_checks_due on mail_checks (next_check_at) where next_check_at is not null;
create index mail_checks_domain on mail_checks (domain, checked_at);

create table dkim_keys (
    domain text primary key,
    selector text not null,
    -- the TXT record's text as published (the public signature's strings joined)
    txt text not null,
    created_at real not null,
    updated_at real not null
) strict;
