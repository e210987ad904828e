-- An Ops store made by the code of main at 528ab8f (schema version 3),
-- before accounts and ticket work: three tickets (completed, failed, open).
-- tests/ops/test_migrations.py upgrades it in place. Made by iterdump().
PRAGMA user_version = 3;
BEGIN TRANSACTION;
CREATE TABLE funnel_durations (
    hour integer not null,
    step integer not null,
    bucket integer not null,
    sessions integer not null,
    primary key (hour, step, bucket)
) without rowid;
INSERT INTO "funnel_durations" VALUES(498875,0,332,3);
INSERT INTO "funnel_durations" VALUES(498875,1,332,2);
INSERT INTO "funnel_durations" VALUES(498875,2,332,2);
INSERT INTO "funnel_durations" VALUES(498875,3,332,1);
INSERT INTO "funnel_durations" VALUES(498875,4,332,1);
CREATE TABLE funnel_rollup (
    hour integer not null,
    stage integer not null,
    status text not null,
    sessions integer not null,
    primary key (hour, stage, status)
) without rowid;
INSERT INTO "funnel_rollup" VALUES(498875,0,'active',1);
INSERT INTO "funnel_rollup" VALUES(498875,1,'active',0);
INSERT INTO "funnel_rollup" VALUES(498875,1,'failed',1);
INSERT INTO "funnel_rollup" VALUES(498875,2,'active',0);
INSERT INTO "funnel_rollup" VALUES(498875,3,'active',1);
INSERT INTO "funnel_rollup" VALUES(498875,4,'active',0);
INSERT INTO "funnel_rollup" VALUES(498875,5,'completed',1);
CREATE TABLE onboard_sessions (
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
, step0_bucket integer, step1_bucket integer, step2_bucket integer, step3_bucket integer, step4_bucket integer) without rowid;
INSERT INTO "onboard_sessions" VALUES('done-1','loja-feita.pt',1795950000000,1795950005000,'onboarding.completed',6,5,'completed',6,1795950000000,1795950001000,1795950002000,1795950003000,1795950004000,1795950005000,332,332,332,332,332);
INSERT INTO "onboard_sessions" VALUES('fail-1','falha.pt',1795950010000,1795950012000,'onboarding.failed',9,1,'failed',3,1795950010000,1795950011000,NULL,NULL,NULL,NULL,332,NULL,NULL,NULL,NULL);
INSERT INTO "onboard_sessions" VALUES('no-ticket','sem.pt',1795950030000,1795950030000,'onboarding.started',14,0,'active',1,1795950030000,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL);
INSERT INTO "onboard_sessions" VALUES('open-1','aberto.pt',1795950020000,1795950023000,'account.created',13,3,'active',4,1795950020000,1795950021000,1795950022000,1795950023000,NULL,NULL,332,332,332,NULL,NULL);
CREATE TABLE ticket_entries (
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
INSERT INTO "ticket_entries" VALUES(1,1,'event',1,'onboarding.started',1795950000000,1795953600000,'{"session_id":"done-1","domain":"loja-feita.pt"}');
INSERT INTO "ticket_entries" VALUES(2,1,'event',2,'domain.validated',1795950001000,1795953600000,'{"session_id":"done-1","domain":"loja-feita.pt"}');
INSERT INTO "ticket_entries" VALUES(3,1,'event',3,'dns.applied',1795950002000,1795953600000,'{"session_id":"done-1","domain":"loja-feita.pt"}');
INSERT INTO "ticket_entries" VALUES(4,1,'event',4,'account.created',1795950003000,1795953600000,'{"session_id":"done-1","domain":"loja-feita.pt"}');
INSERT INTO "ticket_entries" VALUES(5,1,'event',5,'infra.synced',1795950004000,1795953600000,'{"session_id":"done-1","domain":"loja-feita.pt"}');
INSERT INTO "ticket_entries" VALUES(6,1,'event',6,'onboarding.completed',1795950005000,1795953600000,'{"session_id":"done-1","domain":"loja-feita.pt"}');
INSERT INTO "ticket_entries" VALUES(7,1,'note',NULL,NULL,1795950005000,1795953600000,'Onboarding completed: the mail domain is ready for operations (ready_for_ops).');
INSERT INTO "ticket_entries" VALUES(8,2,'event',7,'onboarding.started',1795950010000,1795953600000,'{"session_id":"fail-1","domain":"falha.pt"}');
INSERT INTO "ticket_entries" VALUES(9,2,'event',8,'domain.validated',1795950011000,1795953600000,'{"session_id":"fail-1","domain":"falha.pt"}');
INSERT INTO "ticket_entries" VALUES(10,2,'event',9,'onboarding.failed',1795950012000,1795953600000,'{"session_id":"fail-1","domain":"falha.pt","reason":"carbonio fault"}');
INSERT INTO "ticket_entries" VALUES(11,3,'event',10,'onboarding.started',1795950020000,1795953600000,'{"session_id":"open-1","domain":"aberto.pt"}');
INSERT INTO "ticket_entries" VALUES(12,3,'event',11,'domain.validated',1795950021000,1795953600000,'{"session_id":"open-1","domain":"aberto.pt"}');
INSERT INTO "ticket_entries" VALUES(13,3,'event',12,'dns.applied',1795950022000,1795953600000,'{"session_id":"open-1","domain":"aberto.pt"}');
INSERT INTO "ticket_entries" VALUES(14,3,'event',13,'account.created',1795950023000,1795953600000,'{"session_id":"open-1","domain":"aberto.pt"}');
CREATE TABLE ticket_tags (
    ticket_id integer not null references tickets (id),
    tag text not null,
    primary key (ticket_id, tag)
) without rowid;
INSERT INTO "ticket_tags" VALUES(2,'onboarding_failed');
INSERT INTO "ticket_tags" VALUES(1,'ready_for_ops');
CREATE TABLE tickets (
    id integer primary key,
    session_id text not null unique,
    status text not null default 'open' check (status in ('open', 'closed')),
    subject text not null,
    created_at integer not null,
    updated_at integer not null
);
INSERT INTO "tickets" VALUES(1,'done-1','open','Onboarding of loja-feita.pt',1795953600000,1795953600000);
INSERT INTO "tickets" VALUES(2,'fail-1','open','Onboarding of falha.pt',1795953600000,1795953600000);
INSERT INTO "tickets" VALUES(3,'open-1','open','Onboarding of aberto.pt',1795953600000,1795953600000);
CREATE TABLE webhook_events (
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
INSERT INTO "webhook_events" VALUES(1,'msg_1','done-1','onboarding.started','loja-feita.pt',1795950000000,1795953600000,'{"type":"onboarding.started","timestamp":"2026-11-29T11:00:00.000Z","data":{"session_id":"done-1","domain":"loja-feita.pt"}}');
INSERT INTO "webhook_events" VALUES(2,'msg_2','done-1','domain.validated','loja-feita.pt',1795950001000,1795953600000,'{"type":"domain.validated","timestamp":"2026-11-29T11:00:01.000Z","data":{"session_id":"done-1","domain":"loja-feita.pt"}}');
INSERT INTO "webhook_events" VALUES(3,'msg_3','done-1','dns.applied','loja-feita.pt',1795950002000,1795953600000,'{"type":"dns.applied","timestamp":"2026-11-29T11:00:02.000Z","data":{"session_id":"done-1","domain":"loja-feita.pt"}}');
INSERT INTO "webhook_events" VALUES(4,'msg_4','done-1','account.created','loja-feita.pt',1795950003000,1795953600000,'{"type":"account.created","timestamp":"2026-11-29T11:00:03.000Z","data":{"session_id":"done-1","domain":"loja-feita.pt"}}');
INSERT INTO "webhook_events" VALUES(5,'msg_5','done-1','infra.synced','loja-feita.pt',1795950004000,1795953600000,'{"type":"infra.synced","timestamp":"2026-11-29T11:00:04.000Z","data":{"session_id":"done-1","domain":"loja-feita.pt"}}');
INSERT INTO "webhook_events" VALUES(6,'msg_6','done-1','onboarding.completed','loja-feita.pt',1795950005000,1795953600000,'{"type":"onboarding.completed","timestamp":"2026-11-29T11:00:05.000Z","data":{"session_id":"done-1","domain":"loja-feita.pt"}}');
INSERT INTO "webhook_events" VALUES(7,'msg_7','fail-1','onboarding.started','falha.pt',1795950010000,1795953600000,'{"type":"onboarding.started","timestamp":"2026-11-29T11:00:10.000Z","data":{"session_id":"fail-1","domain":"falha.pt"}}');
INSERT INTO "webhook_events" VALUES(8,'msg_8','fail-1','domain.validated','falha.pt',1795950011000,1795953600000,'{"type":"domain.validated","timestamp":"2026-11-29T11:00:11.000Z","data":{"session_id":"fail-1","domain":"falha.pt"}}');
INSERT INTO "webhook_events" VALUES(9,'msg_9','fail-1','onboarding.failed','falha.pt',1795950012000,1795953600000,'{"type":"onboarding.failed","timestamp":"2026-11-29T11:00:12.000Z","data":{"session_id":"fail-1","domain":"falha.pt","reason":"carbonio fault"}}');
INSERT INTO "webhook_events" VALUES(10,'msg_10','open-1','onboarding.started','aberto.pt',1795950020000,1795953600000,'{"type":"onboarding.started","timestamp":"2026-11-29T11:00:20.000Z","data":{"session_id":"open-1","domain":"aberto.pt"}}');
INSERT INTO "webhook_events" VALUES(11,'msg_11','open-1','domain.validated','aberto.pt',1795950021000,1795953600000,'{"type":"domain.validated","timestamp":"2026-11-29T11:00:21.000Z","data":{"session_id":"open-1","domain":"aberto.pt"}}');
INSERT INTO "webhook_events" VALUES(12,'msg_12','open-1','dns.applied','aberto.pt',1795950022000,1795953600000,'{"type":"dns.applied","timestamp":"2026-11-29T11:00:22.000Z","data":{"session_id":"open-1","domain":"aberto.pt"}}');
INSERT INTO "webhook_events" VALUES(13,'msg_13','open-1','account.created','aberto.pt',1795950023000,1795953600000,'{"type":"account.created","timestamp":"2026-11-29T11:00:23.000Z","data":{"session_id":"open-1","domain":"aberto.pt"}}');
INSERT INTO "webhook_events" VALUES(14,'msg_14','no-ticket','onboarding.started','sem.pt',1795950030000,1795953600000,'{"type":"onboarding.started","timestamp":"2026-11-29T11:00:30.000Z","data":{"session_id":"no-ticket","domain":"sem.pt"}}');
CREATE INDEX webhook_events_by_session on webhook_events (session_id, occurred_at, id);
CREATE INDEX webhook_events_by_type on webhook_events (event_type, occurred_at);
CREATE INDEX webhook_events_by_received on webhook_events (received_at);
CREATE INDEX onboard_sessions_by_activity on onboard_sessions (status, last_event_at);
CREATE INDEX tickets_by_updated on tickets (updated_at, id);
CREATE INDEX tickets_by_status on tickets (status, updated_at, id);
CREATE INDEX ticket_tags_by_tag on ticket_tags (tag, ticket_id);
CREATE INDEX ticket_entries_by_ticket on ticket_entries (ticket_id, occurred_at, id);
CREATE VIEW ticket_summaries as
select t.id,
       t.session_id,
       t.status,
       t.subject,
       t.created_at,
       t.updated_at,
       s.domain,
       s.status as session_status,
       s.furthest_stage,
       (select group_concat(tag, ',')
          from (select tag from ticket_tags where ticket_id = t.id order by tag)) as tags
from tickets as t
join onboard_sessions as s on s.session_id = t.session_id;
CREATE INDEX onboard_sessions_by_first on onboard_sessions (
    first_event_at,
    furthest_stage,
    status,
    step0_bucket,
    step1_bucket,
    step2_bucket,
    step3_bucket,
    step4_bucket
);
COMMIT;
