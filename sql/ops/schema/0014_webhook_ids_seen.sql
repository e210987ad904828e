-- The webhook-ids Ops has stored, kept longer than the events (issue 26): a replay of an
-- event retention already purged is answered as a duplicate instead of stored anew.
-- About 70 bytes per id (the id, its time, the B-tree); kept OPS_WEBHOOK_ID_DAYS.
create table webhook_ids_seen (
    event_id text primary key,
    received_at integer not null
) without rowid;

create index webhook_ids_seen_received on webhook_ids_seen (received_at);

insert or ignore into webhook_ids_seen (event_id, received_at)
select event_id, received_at from webhook_events;

-- What Ops remembers about itself: 'webhook_ids_since', the time (ms) before which it may
-- have forgotten webhook-ids it stored. Events before the oldest kept one may have been
-- purged by retention before this table existed, so that is where it starts.
create table ops_memory (
    key text primary key,
    value integer not null
) without rowid;

insert into ops_memory (key, value)
select 'webhook_ids_since', (select min(received_at) from webhook_events)
where exists (select 1 from webhook_events);
