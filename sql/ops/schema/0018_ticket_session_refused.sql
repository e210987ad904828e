-- A ticket's session status as every other view says it (docs/desk.md, "Session states"):
-- a refused session (active, with a refusal code: migration 0016) reads 'refused' in the
-- ticket answers, the ticket list and the tickets CSV, not 'active'. The rest of the view
-- is 0012's.
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
       case when s.status = 'active' and s.refusal_code is not null
           then 'refused' else s.status end as session_status,
       s.furthest_stage,
       s.contact,
       s.failure_code,
       (select group_concat(tag, ',')
          from (select tag from ticket_tags where ticket_id = t.id order by tag)) as tags
from tickets as t
join onboard_sessions as s on s.session_id = t.session_id
left join accounts as a on a.id = t.assignee_id;
