-- One row per ticket with what every ticket view shows: its session's domain, status and
-- stage, and its tags (comma-separated, sorted). get_ticket and list_tickets read it.
create view ticket_summaries as
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
