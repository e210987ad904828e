-- Personal accounts, server-side Desk sessions, and tickets a team works on: states,
-- an assignee, a version for safe concurrent edits, and an append-only activity log
-- (status, assignee and tag changes, notes) that the timeline shows with who and when.

-- Operators. Names are stored lowercase; the password is an Argon2id PHC string
-- (argon2-cffi), never the password itself.
create table accounts (
    id integer primary key,
    name text not null unique,
    password_hash text not null,
    is_admin integer not null default 0 check (is_admin in (0, 1)),
    created_at integer not null,
    password_changed_at integer not null,
    disabled_at integer
);

-- Browser sessions. The cookie holds a random secret; only its SHA-256 is stored, so a
-- copy of the database opens no session. A session ends (ended_at) on logout, when its
-- account is disabled or its password reset; an ended or expired session is refused.
create table desk_sessions (
    id integer primary key,
    secret_hash blob not null unique,
    account_id integer not null references accounts (id),
    created_at integer not null,
    expires_at integer not null,
    ended_at integer,
    end_reason text check (end_reason in ('logout', 'disabled', 'password_reset'))
);
create index desk_sessions_by_account on desk_sessions (account_id, ended_at);
create index desk_sessions_by_expiry on desk_sessions (expires_at);

-- Tickets gain the states open -> pending -> resolved -> closed, an assignee and a
-- version. SQLite cannot change a CHECK constraint and Ops migrates with foreign keys on
-- (a rebuilt table could not be dropped under ticket_tags and ticket_entries), so the old
-- status column (CHECK open, closed) is renamed legacy_status, kept at its default, and a
-- new status column with the four states takes its values.
-- The ticket_counts triggers (0006) follow the new column: dropped first (a renamed column
-- would carry them along to legacy_status), made again on status, and the counts rebuilt.
drop view ticket_summaries;
drop index tickets_by_status;
drop trigger ticket_counts_insert;
drop trigger ticket_counts_update;
drop trigger ticket_counts_delete;
alter table tickets rename column status to legacy_status;
alter table tickets add column status text not null default 'open'
    check (status in ('open', 'pending', 'resolved', 'closed'));
update tickets set status = legacy_status;
create trigger ticket_counts_insert after insert on tickets
begin
    insert into ticket_counts (status, tickets) values (new.status, 1)
    on conflict (status) do update set tickets = tickets + 1;
end;
create trigger ticket_counts_update after update of status on tickets
when old.status is not new.status
begin
    update ticket_counts set tickets = tickets - 1 where status = old.status;
    insert into ticket_counts (status, tickets) values (new.status, 1)
    on conflict (status) do update set tickets = tickets + 1;
end;
create trigger ticket_counts_delete after delete on tickets
begin
    update ticket_counts set tickets = tickets - 1 where status = old.status;
end;
delete from ticket_counts;
insert into ticket_counts (status, tickets)
select status, count(*)
from tickets
group by status;
alter table tickets add column assignee_id integer references accounts (id);
alter table tickets add column version integer not null default 1;
create index tickets_by_status on tickets (status, updated_at, id);
create index tickets_by_assignee on tickets (assignee_id, status);

-- Every change an agent (or Ops itself) makes to a ticket, and every note: one row each,
-- never edited or removed. actor_kind says who: an account, a program with the API
-- token, or Ops (an automatic reopen). detail is JSON (see vm122_ops/tickets/work.py).
create table ticket_activity (
    id integer primary key autoincrement,
    ticket_id integer not null references tickets (id),
    actor_kind text not null check (actor_kind in ('account', 'program', 'ops')),
    actor_id integer references accounts (id),
    at integer not null,
    kind text not null check (kind in ('status', 'assignee', 'tags', 'note')),
    detail text not null,
    version integer not null
);
create index ticket_activity_by_ticket on ticket_activity (ticket_id, id);
create trigger ticket_activity_is_never_edited
before update on ticket_activity
begin
    select raise(abort, 'ticket activity is never edited');
end;
create trigger ticket_activity_is_never_removed
before delete on ticket_activity
begin
    select raise(abort, 'ticket activity is never removed');
end;

create view ticket_summaries as
select t.id,
       t.session_id,
       t.status,
       t.subject,
       t.created_at,
       t.updated_at,
       t.version,
       t.assignee_id,
       a.name as assignee,
       s.domain,
       s.status as session_status,
       s.furthest_stage,
       (select group_concat(tag, ',')
          from (select tag from ticket_tags where ticket_id = t.id order by tag)) as tags
from tickets as t
join onboard_sessions as s on s.session_id = t.session_id
left join accounts as a on a.id = t.assignee_id;
