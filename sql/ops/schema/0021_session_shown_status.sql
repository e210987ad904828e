-- A session's status as Ops shows it (docs/desk.md, "Session states"), defined once: its
-- `status`, except that an active session with a refusal code (migration 0016) is
-- 'refused'. The named queries and the ticket_summaries view read it instead of writing
-- the CASE each; the fold at ingest says the same in Python (`shown_status` in
-- vm122_ops/ingest/session_fold.py), for the state it holds in memory.
--
-- Named `shown_status`: it is the status every answer shows (the search, the stream, a
-- ticket's session_status, the funnel's and the breakdowns' cells), while `status` keeps
-- the three values ingest writes and 0001's CHECK allows. `funnel_status` would say too
-- little (the search and the tickets show it too) and `display_status` nothing of who sees
-- it; no column, view or query names `shown_status` before this.
--
-- VIRTUAL: computed when a row is read, never stored, so adding it rewrites no row and
-- nothing needs a backfill. SQLite (3.31.0 and later) can ADD COLUMN a VIRTUAL generated
-- column but not a STORED one (https://sqlite.org/gencol.html, 2.3 "Limitations"), and
-- a generated column cannot be written: an INSERT or UPDATE naming it is an error.
--
-- What reading it costs: SQLite counts a reference to a generated column as a use of every
-- column of its table, so no index covers a query that reads it, and a partial index is
-- only used when the query's WHERE says its WHERE. The queries that read the covering
-- index onboard_sessions_by_first (the funnel's partial first hour: 0019) or walk the
-- partial indexes onboard_sessions_active and onboard_sessions_refused (0016) keep
-- `status` and `refusal_code`, and say why beside them.
alter table onboard_sessions add column shown_status text generated always as (
    case when status = 'active' and refusal_code is not null then 'refused' else status end
) virtual;

-- The ticket answers, the ticket list and the tickets CSV read it; the rest is 0018's.
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
       s.shown_status as session_status,
       s.furthest_stage,
       s.contact,
       s.failure_code,
       (select group_concat(tag, ',')
          from (select tag from ticket_tags where ticket_id = t.id order by tag)) as tags
from tickets as t
join onboard_sessions as s on s.session_id = t.session_id
left join accounts as a on a.id = t.assignee_id;
