-- Work queues of the Desk's ticket list (docs/desk.md, "Queues"): every ticket is in one
-- of three queues, kept on the ticket row by triggers so that every way a ticket, its
-- tags or its session change (ingest, an agent's change, a tag another module adds) keeps
-- it, and the list of a queue is a range on an index:
--   needs_action: not resolved or closed, and its session failed, or it was reopened, or it
--                 is a follow-up an agent took (a stuck session), or a handover whose mail
--                 is not ready yet (tag mail_pending);
--   handover:     not resolved or closed, tagged ready_for_ops, and nothing of the above;
--   other:        everything else (in progress, resolved, closed).
-- kind: "onboarding" (opened by account.created or onboarding.failed) or "follow_up"
-- (opened by an agent from the stuck list). reopened: it went from resolved or closed back
-- to open at least once (by Ops on a new failure, or by an agent).
alter table tickets add column kind text not null default 'onboarding'
    check (kind in ('onboarding', 'follow_up'));
alter table tickets add column reopened integer not null default 0 check (reopened in (0, 1));
alter table tickets add column queue text not null default 'other'
    check (queue in ('needs_action', 'handover', 'other'));

-- The rule, in one place; the triggers below apply it to one ticket at a time.
create view ticket_queue_rule as
select t.id,
       case
           when t.status in ('resolved', 'closed') then 'other'
           when t.kind = 'follow_up'
               or t.reopened = 1
               or (select s.status from onboard_sessions as s
                   where s.session_id = t.session_id) = 'failed'
               or (exists (select 1 from ticket_tags as g
                           where g.ticket_id = t.id and g.tag = 'ready_for_ops')
                   and exists (select 1 from ticket_tags as g
                               where g.ticket_id = t.id and g.tag = 'mail_pending'))
               then 'needs_action'
           when exists (select 1 from ticket_tags as g
                        where g.ticket_id = t.id and g.tag = 'ready_for_ops')
               then 'handover'
           else 'other'
       end as queue
from tickets as t;

update tickets
set reopened = 1
where exists (
    select 1
    from ticket_activity as a
    where a.ticket_id = tickets.id
      and a.kind = 'status'
      and json_extract(a.detail, '$.to') = 'open'
      and json_extract(a.detail, '$.from') in ('resolved', 'closed')
);

update tickets
set queue = (select r.queue from ticket_queue_rule as r where r.id = tickets.id);

create index tickets_by_queue on tickets (queue, updated_at, id);

-- Tickets per queue, kept like ticket_counts (0006): the list's counts read three rows.
create table ticket_queue_counts (
    queue text primary key,
    tickets integer not null
) without rowid;

insert into ticket_queue_counts (queue, tickets)
select queue, count(*)
from tickets
group by queue;

create trigger ticket_queue_counts_update after update of queue on tickets
when old.queue is not new.queue
begin
    update ticket_queue_counts set tickets = tickets - 1 where queue = old.queue;
    insert into ticket_queue_counts (queue, tickets) values (new.queue, 1)
    on conflict (queue) do update set tickets = tickets + 1;
end;

create trigger ticket_queue_counts_delete after delete on tickets
begin
    update ticket_queue_counts set tickets = tickets - 1 where queue = old.queue;
end;

-- What moves a ticket between queues. A new ticket is counted in the queue it was
-- inserted with, then moved to its rule's (one trigger, so in this order).
create trigger ticket_queue_on_insert after insert on tickets
begin
    insert into ticket_queue_counts (queue, tickets) values (new.queue, 1)
    on conflict (queue) do update set tickets = tickets + 1;
    update tickets
    set queue = coalesce((select r.queue from ticket_queue_rule as r where r.id = new.id), 'other')
    where id = new.id;
end;

create trigger ticket_queue_on_status after update of status, kind on tickets
begin
    update tickets
    set reopened = case
            when old.status in ('resolved', 'closed') and new.status = 'open' then 1
            else reopened
        end
    where id = new.id;
    update tickets
    set queue = coalesce((select r.queue from ticket_queue_rule as r where r.id = new.id), 'other')
    where id = new.id;
end;

create trigger ticket_queue_on_tag_added after insert on ticket_tags
begin
    update tickets
    set queue = coalesce(
        (select r.queue from ticket_queue_rule as r where r.id = new.ticket_id), 'other')
    where id = new.ticket_id;
end;

create trigger ticket_queue_on_tag_removed after delete on ticket_tags
begin
    update tickets
    set queue = coalesce(
        (select r.queue from ticket_queue_rule as r where r.id = old.ticket_id), 'other')
    where id = old.ticket_id;
end;

create trigger ticket_queue_on_session_status after update of status on onboard_sessions
when old.status is not new.status
begin
    update tickets
    set queue = coalesce((select r.queue from ticket_queue_rule as r where r.id = tickets.id),
                         'other')
    where session_id = new.session_id;
end;

-- The ticket list's rows gain the queue, the kind, the session's contact and its last
-- failure's code (the list's priority and the CSV).
drop view ticket_summaries;
create view ticket_summaries as
select t.id,
       t.session_id,
       t.status,
       t.subject,
       t.created_at,
       t.updated_at,
       t.version,
       t.assignee_id,
       t.kind,
       t.queue,
       t.reopened,
       a.name as assignee,
       s.domain,
       s.status as session_status,
       s.furthest_stage,
       s.contact,
       s.failure_code,
       (select group_concat(tag, ',')
          from (select tag from ticket_tags where ticket_id = t.id order by tag)) as tags
from tickets as t
join onboard_sessions as s on s.session_id = t.session_id
left join accounts as a on a.id = t.assignee_id;
