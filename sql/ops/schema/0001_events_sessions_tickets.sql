-- Ops store. Times are integer milliseconds since the Unix epoch, UTC.
-- Stages are integers 0..5: started, domain_validated, dns_applied, account_created,
-- infra_synced, completed (see vm122_ops/ingest/events.py).

-- One row per accepted webhook; event_id is the sender's webhook-id.
create table webhook_events (
    id integer primary key,
    event_id text not null unique,
    session_id text not null,
    event_type text not null check (event_type in (
        'onboarding.started', 'domain.validated', 'dns.applied', 'account.created',
        'infra.synced', 'onboarding.completed', 'onboarding.failed')),
    domain text not null,
    occurred_at integer not null,
    received_at integer not null,
    payload text not null
);
create index webhook_events_by_session on webhook_events (session_id, occurred_at, id);
create index webhook_events_by_type on webhook_events (event_type, occurred_at);
create index webhook_events_by_received on webhook_events (received_at);

-- Derived per-session state, maintained in the ingest transaction so the funnel and the
-- active-session list never scan webhook_events. Every column is order-independent:
-- minima, maxima, and the latest event by (occurred_at, id).
create table onboard_sessions (
    session_id text primary key,
    domain text not null,
    first_event_at integer not null,
    last_event_at integer not null,
    last_event_type text not null,
    last_event_row integer not null,
    furthest_stage integer check (furthest_stage between 0 and 5),
    status text not null check (status in ('active', 'completed', 'failed')),
    event_count integer not null,
    started_at integer,
    domain_validated_at integer,
    dns_applied_at integer,
    account_created_at integer,
    infra_synced_at integer,
    completed_at integer
) without rowid;
create index onboard_sessions_by_first on onboard_sessions (first_event_at);
create index onboard_sessions_by_activity on onboard_sessions (status, last_event_at);

-- Funnel rollups keyed by the hour of each session's first event, so the funnel reads a
-- few hundred rows whatever the number of stored events. stage -1 = no stage reached.
create table funnel_rollup (
    hour integer not null,
    stage integer not null,
    status text not null,
    sessions integer not null,
    primary key (hour, stage, status)
) without rowid;

-- Time from stage `step` to stage `step + 1`, as a log histogram (see funnel.py).
create table funnel_durations (
    hour integer not null,
    step integer not null,
    bucket integer not null,
    sessions integer not null,
    primary key (hour, step, bucket)
) without rowid;

create table tickets (
    id integer primary key,
    session_id text not null unique,
    status text not null default 'open' check (status in ('open', 'closed')),
    subject text not null,
    created_at integer not null,
    updated_at integer not null
);
create index tickets_by_updated on tickets (updated_at, id);
create index tickets_by_status on tickets (status, updated_at, id);

create table ticket_tags (
    ticket_id integer not null references tickets (id),
    tag text not null,
    primary key (ticket_id, tag)
) without rowid;
create index ticket_tags_by_tag on ticket_tags (tag, ticket_id);

-- A ticket's timeline: copies of its session's events (data truncated) and its notes.
create table ticket_entries (
    id integer primary key,
    ticket_id integer not null references tickets (id),
    kind text not null check (kind in ('event', 'note')),
    event_row integer,
    event_type text,
    occurred_at integer not null,
    received_at integer not null,
    body text not null,
    unique (ticket_id, event_row)
);
create index ticket_entries_by_ticket on ticket_entries (ticket_id, occurred_at, id);
