-- Wizard sessions, the durable Ops outbox, and the infrastructure inventory (portal side).

create table sessions (
    session_id text primary key,
    -- the validated domain in ASCII (IDNA) form; null until validate-domain succeeds
    domain text,
    step text not null check (
        step in ('started', 'domain_validated', 'dns_done', 'account_created', 'completed', 'failed')
    ),
    -- the wizard step that failed, while step = 'failed'
    failed_stage text,
    created_at real not null,
    updated_at real not null
) strict;

create table outbox (
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
            'onboarding.failed'
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
    redriven_at real
) strict;

create index outbox_pending on outbox (id) where state = 'pending';
create index outbox_session on outbox (session_id);

create table infra (
    domain text primary key,
    session_id text not null,
    account text not null,
    plan text not null,
    mailbox_quota_mb integer not null check (mailbox_quota_mb > 0),
    created_at real not null,
    updated_at real not null
) strict;
