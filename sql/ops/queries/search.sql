-- name: sessions_by_domain_key
-- Sessions whose Unicode domain key starts with a prefix ([:prefix, :prefix_end)), a
-- range on onboard_sessions_by_domain_key, by domain then newest activity.
select s.session_id, s.domain, s.domain_key, s.furthest_stage,
       s.shown_status as status,
       s.last_event_at,
       t.id as ticket_id
from onboard_sessions as s indexed by onboard_sessions_by_domain_key
left join tickets as t on t.session_id = s.session_id
where s.domain_key >= :prefix and s.domain_key < :prefix_end
order by s.domain_key, s.last_event_at desc
limit :limit;

-- name: sessions_by_domain_ascii
-- The same on the ASCII form (onboard_sessions_by_domain_ascii).
select s.session_id, s.domain, s.domain_key, s.furthest_stage,
       s.shown_status as status,
       s.last_event_at,
       t.id as ticket_id
from onboard_sessions as s indexed by onboard_sessions_by_domain_ascii
left join tickets as t on t.session_id = s.session_id
where s.domain_ascii >= :prefix and s.domain_ascii < :prefix_end
order by s.domain_ascii, s.last_event_at desc
limit :limit;

-- name: session_by_id
-- One session by its id, with its ticket.
select s.session_id, s.domain, s.domain_key, s.furthest_stage,
       s.shown_status as status,
       s.last_event_at,
       t.id as ticket_id
from onboard_sessions as s
left join tickets as t on t.session_id = s.session_id
where s.session_id = :session_id;

-- name: session_by_ticket
-- The session of one ticket number.
select s.session_id, s.domain, s.domain_key, s.furthest_stage,
       s.shown_status as status,
       s.last_event_at,
       t.id as ticket_id
from tickets as t
join onboard_sessions as s on s.session_id = t.session_id
where t.id = :ticket_id;

-- name: sessions_by_substring
-- Sessions whose domain keys or contact hold every word of an FTS5 expression (the
-- trigram index of migration 0013), newest documents first, at most :limit.
select s.session_id, s.domain, s.domain_key, s.domain_ascii, s.furthest_stage,
       s.shown_status as status,
       s.last_event_at, s.contact, t.id as ticket_id
from (select rowid as id
      from session_search
      where session_search match :match
      order by rowid desc
      limit :limit) as hit
join session_search_docs as d on d.id = hit.id
join onboard_sessions as s on s.session_id = d.session_id
left join tickets as t on t.session_id = s.session_id
order by hit.id desc;

-- name: set_session_reference!
-- A session's support reference (ingest, from onboarding.started), when it has none yet:
-- the first one stored is kept.
update onboard_sessions
set reference = :reference
where session_id = :session_id
  and reference is null;

-- name: sessions_by_reference
-- Sessions with one support reference (onboard_sessions_by_reference), newest first.
select s.session_id, s.domain, s.domain_key, s.furthest_stage,
       s.shown_status as status,
       s.last_event_at,
       t.id as ticket_id
from onboard_sessions as s indexed by onboard_sessions_by_reference
left join tickets as t on t.session_id = s.session_id
where s.reference = :reference
order by s.last_event_at desc
limit :limit;
