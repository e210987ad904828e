-- name: session_mail_checks
-- A session's mail.checked events, oldest first (event time, then arrival).
-- Named index: a session has a handful of events, mail.checked is one type over every
-- session, so reading by session is right whatever the data. On a store with no
-- sqlite_stat1 (production stores are never analysed) the planner took
-- webhook_events_by_type, every mail.checked ever stored, at each one's ingest. INDEXED BY
-- makes that plan impossible and a dropped or renamed index an error at prepare time
-- (https://www.sqlite.org/lang_indexedby.html: "to raise a run-time error if a schema
-- change ... causes the query plan for a time-sensitive query to change");
-- tests/ops/test_mail_plans.py checks the plan on a store with no statistics.
select id, occurred_at, payload
from webhook_events indexed by webhook_events_by_session
where session_id = :session_id
  and event_type = 'mail.checked'
order by occurred_at, id;

-- name: upsert_session_mail!
-- A session's mail as its mail.checked events say (vm122_ops/funnel/mail_readiness.py derives it).
insert into session_mail
    (session_id, ready, items, checked_at, check_row, first_checked_at, not_ready_since, checks)
values
    (:session_id, :ready, :items, :checked_at, :check_row, :first_checked_at,
     :not_ready_since, :checks)
on conflict (session_id) do update set
    ready = excluded.ready,
    items = excluded.items,
    checked_at = excluded.checked_at,
    check_row = excluded.check_row,
    first_checked_at = excluded.first_checked_at,
    not_ready_since = excluded.not_ready_since,
    checks = excluded.checks;

-- name: get_session_mail^
-- A session's mail readiness, if any mail.checked of it is stored.
select ready, items, checked_at, first_checked_at, not_ready_since, checks
from session_mail
where session_id = :session_id;

-- name: mail_readiness_counts^
-- The window's completed sessions (first event since :since, as the funnel's cohort):
-- how many, how many have a mail check, how many of those are ready.
-- Named index: the window (a range of first_event_at in onboard_sessions_by_first, which
-- covers status too) is never more rows than every completed session, the plan an
-- unanalysed store chose by onboard_sessions_by_activity (status=?); see
-- session_mail_checks for why INDEXED BY.
select count(*) as completed,
       count(m.session_id) as checked,
       coalesce(sum(m.ready), 0) as ready
from onboard_sessions as s indexed by onboard_sessions_by_first
left join session_mail as m on m.session_id = s.session_id
where s.first_event_at >= :since
  and s.first_event_at <= :now
  and s.status = 'completed';

-- name: mail_not_ready
-- The window's completed sessions whose newest mail check is not ready, the longest
-- waiting first. Named index: the window, as mail_readiness_counts.
select s.session_id,
       s.domain,
       s.completed_at,
       m.items,
       m.checked_at,
       m.not_ready_since,
       m.checks,
       t.id as ticket_id
from onboard_sessions as s indexed by onboard_sessions_by_first
join session_mail as m on m.session_id = s.session_id
left join tickets as t on t.session_id = s.session_id
where s.first_event_at >= :since
  and s.first_event_at <= :now
  and s.status = 'completed'
  and m.ready = 0
order by m.not_ready_since, s.session_id
limit :limit;
