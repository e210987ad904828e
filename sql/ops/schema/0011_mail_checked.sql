-- mail.checked (servicekit/contract.py): whether a session's mail works as the world's DNS
-- shows it. It is an event like the others (stored once by its webhook-id) but no stage.

-- webhook_events' CHECK gains the type: SQLite cannot alter a CHECK, so the table is
-- rebuilt (https://www.sqlite.org/lang_altertable.html, "other kinds of table schema
-- changes"); ids are kept, so the stream's positions and every event_row stay valid.
create table webhook_events_new (
    id integer primary key,
    event_id text not null unique,
    session_id text not null,
    event_type text not null check (event_type in (
        'onboarding.started', 'domain.validated', 'dns.applied', 'account.created',
        'infra.synced', 'onboarding.completed', 'onboarding.failed', 'mail.checked')),
    domain text not null,
    occurred_at integer not null,
    received_at integer not null,
    payload text not null
);
insert into webhook_events_new
    (id, event_id, session_id, event_type, domain, occurred_at, received_at, payload)
select id, event_id, session_id, event_type, domain, occurred_at, received_at, payload
from webhook_events;
drop table webhook_events;
alter table webhook_events_new rename to webhook_events;
create index webhook_events_by_session on webhook_events (session_id, occurred_at, id);
create index webhook_events_by_type on webhook_events (event_type, occurred_at);
create index webhook_events_by_received on webhook_events (received_at);

-- A session's mail as its mail.checked events say, derived from all of them at each one
-- (so any arrival order ends the same): the newest check (by event time, then row id),
-- and since when the mail has not been ready (the oldest check of the newest run of
-- not-ready checks; null when ready).
create table session_mail (
    session_id text primary key,
    ready integer not null check (ready in (0, 1)),
    items text not null,
    checked_at integer not null,
    check_row integer not null,
    first_checked_at integer not null,
    not_ready_since integer,
    checks integer not null
) without rowid;
create index session_mail_not_ready on session_mail (ready, session_id);
