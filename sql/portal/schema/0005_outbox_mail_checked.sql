-- The outbox's CHECK gains mail.checked (servicekit/contract.py). SQLite cannot alter a
-- CHECK, so the table is rebuilt (https://www.sqlite.org/lang_altertable.html, "other
-- kinds of table schema changes"): ids and the AUTOINCREMENT counter are kept, so a
-- webhook row never reuses an id of a purged one.
create table outbox_new (
    id integer primary key autoincrement,
    -- the webhook-id: fixed for the event's whole life, so Ops can deduplicate retries
    webhook_id text not null unique,
    event_type text not null check (
        event_type in (
            'onboarding.started',
            'domain.validated',
            'dns.applied',
            'account.created',
            'infra.synced',
            'onboarding.completed',
            'onboarding.failed',
            'mail.checked'
        )
    ),
    session_id text not null,
    -- the exact JSON body sent to Ops (signed afresh at every attempt)
    body text not null,
    state text not null default 'pending' check (state in ('pending', 'delivered', 'dead')),
    created_at real not null,
    attempts integer not null default 0,
    next_attempt_at real not null,
    last_attempt_at real,
    last_status integer,
    last_error text,
    delivered_at real,
    dead_at real,
    -- set by `outbox redrive`; the maximum age counts from here for redriven rows
    redriven_at real,
    request_id text
) strict;
insert into outbox_new
select id, webhook_id, event_type, session_id, body, state, created_at, attempts,
       next_attempt_at, last_attempt_at, last_status, last_error, delivered_at, dead_at,
       redriven_at, request_id
from outbox;
delete from sqlite_sequence where name = 'outbox_new';
insert into sqlite_sequence (name, seq) select 'outbox_new', seq from sqlite_sequence where name = 'outbox';
drop table outbox;
alter table outbox_new rename to outbox;
create index outbox_pending on outbox (id) where state = 'pending';
create index outbox_session on outbox (session_id);
create index outbox_pending_session on outbox (session_id, id) where state = 'pending';
