-- name: cohort_idle_counts
-- Active cohort sessions (first event from :cohort_since) of one furthest stage (null:
-- none) whose last event is in [since, until): a range on the partial index
-- onboard_sessions_active, so the cost grows with recent activity, never with events.
-- The filter is shown_status = 'active' (0021) written out: a partial index
-- (onboard_sessions_active) is used only when the query's WHERE says its WHERE.
select count(*) as sessions
from onboard_sessions indexed by onboard_sessions_active
where status = 'active'
  and refusal_code is null
  and furthest_stage is :stage
  and last_event_at >= :since
  and last_event_at < :until
  and first_event_at >= :cohort_since;

-- name: cohort_active_page
-- One page of active cohort sessions of one furthest stage (null: none) whose last event
-- is in [since, until), newest activity first, after the cursor (:before_at, :before_id);
-- walks the partial index onboard_sessions_active backwards (named: the planner, without
-- statistics, would take onboard_sessions_by_activity across every stage).
-- The filter is shown_status = 'active' (0021) written out: a partial index
-- (onboard_sessions_active) is used only when the query's WHERE says its WHERE.
select s.session_id,
       s.domain,
       s.furthest_stage,
       s.status,
       s.failed_step,
       s.last_event_type,
       s.last_event_at,
       s.contact,
       null as refusal_code,
       null as failure_code,
       null as payload,
       t.id as ticket_id
from onboard_sessions as s indexed by onboard_sessions_active
left join tickets as t on t.session_id = s.session_id
where s.status = 'active'
  and s.refusal_code is null
  and s.furthest_stage is :stage
  and s.last_event_at >= :since
  and s.last_event_at < :until
  and s.first_event_at >= :cohort_since
  and (:before_at is null
       or s.last_event_at < :before_at
       or (s.last_event_at = :before_at and s.session_id < :before_id))
order by s.last_event_at desc, s.session_id desc
limit :limit;

-- name: cohort_closed_page
-- One page of failed (by the step that failed; :step null: any) or completed cohort
-- sessions, or of active ones (the started list), newest activity first, after the cursor; walks onboard_sessions_by_activity
-- (status, last_event_at) backwards from the cursor down to the cohort's start (a
-- session's last event is never before its first). The failure's code is the session's
-- (migration 0010); its reason comes from the newest event's payload, read for the page's
-- rows only. :reached 1 keeps the sessions that reached a stage (the started list, which
-- walks each status). :by (null: any session) keeps a breakdown group's sessions: those whose
-- stored value of that property ('' when unknown) is among the JSON array :values when
-- :inside is 1, not among them when 0 (vm122_ops/funnel/breakdowns.py, GroupMembers).
select s.session_id,
       s.domain,
       s.furthest_stage,
       s.status,
       s.failed_step,
       s.last_event_type,
       s.last_event_at,
       s.contact,
       s.refusal_code,
       s.failure_code,
       case when s.status = 'failed' then e.payload end as payload,
       t.id as ticket_id
from onboard_sessions as s indexed by onboard_sessions_by_activity
left join webhook_events as e on e.id = s.last_event_row
left join tickets as t on t.session_id = s.session_id
where s.status = :status
  and s.last_event_at >= :cohort_since
  and s.first_event_at >= :cohort_since
  and (:step is null or s.failed_step = :step)
  and (:reached = 0 or s.furthest_stage is not null)
  and (:by is null
       or (coalesce(case :by
                        when 'dns_mode' then s.dns_mode
                        when 'previous_provider' then s.previous_provider
                        when 'language' then s.language
                        when 'release' then s.release
                    end, '') in (select value from json_each(:values))) = :inside)
  and (:before_at is null
       or s.last_event_at < :before_at
       or (s.last_event_at = :before_at and s.session_id < :before_id))
order by s.last_event_at desc, s.session_id desc
limit :limit;

-- name: cohort_code_page
-- One page of failed cohort sessions of one failed step whose last failure had :code,
-- newest activity first, after the cursor; a range on the partial index
-- onboard_sessions_failed_by_code (step, code, last activity, session id), so the cost
-- grows with the page, never with events or other codes. The reason comes from the newest
-- event's payload, read for the page's rows only.
select s.session_id,
       s.domain,
       s.furthest_stage,
       s.status,
       s.failed_step,
       s.failure_code,
       s.last_event_type,
       s.last_event_at,
       s.contact,
       null as refusal_code,
       e.payload,
       t.id as ticket_id
from onboard_sessions as s indexed by onboard_sessions_failed_by_code
left join webhook_events as e on e.id = s.last_event_row
left join tickets as t on t.session_id = s.session_id
where s.status = 'failed'
  and s.failed_step = :step
  and s.failure_code = :code
  and s.last_event_at >= :cohort_since
  and s.first_event_at >= :cohort_since
  and (:before_at is null
       or s.last_event_at < :before_at
       or (s.last_event_at = :before_at and s.session_id < :before_id))
order by s.last_event_at desc, s.session_id desc
limit :limit;

-- name: cohort_code_count
-- How many failed cohort sessions of one failed step have :code as their last failure's:
-- the same range, counted from the index alone.
select count(*) as sessions
from onboard_sessions indexed by onboard_sessions_failed_by_code
where status = 'failed'
  and failed_step = :step
  and failure_code = :code
  and last_event_at >= :cohort_since
  and first_event_at >= :cohort_since;

-- name: cohort_refused_page
-- One page of refused cohort sessions (active, a refusal code: never past started), newest
-- activity first, after the cursor; walks the partial index onboard_sessions_refused
-- backwards from the cursor down to the cohort's start. :by, :values, :inside: a breakdown
-- group's sessions only, as in cohort_closed_page.
-- The filter is shown_status = 'refused' (0021) written out: a partial index
-- (onboard_sessions_refused) is used only when the query's WHERE says its WHERE.
select s.session_id,
       s.domain,
       s.furthest_stage,
       s.status,
       s.failed_step,
       s.last_event_type,
       s.last_event_at,
       s.contact,
       s.refusal_code,
       null as failure_code,
       null as payload,
       t.id as ticket_id
from onboard_sessions as s indexed by onboard_sessions_refused
left join tickets as t on t.session_id = s.session_id
where s.status = 'active'
  and s.refusal_code is not null
  and s.last_event_at >= :cohort_since
  and s.first_event_at >= :cohort_since
  and (:by is null
       or (coalesce(case :by
                        when 'dns_mode' then s.dns_mode
                        when 'previous_provider' then s.previous_provider
                        when 'language' then s.language
                        when 'release' then s.release
                    end, '') in (select value from json_each(:values))) = :inside)
  and (:before_at is null
       or s.last_event_at < :before_at
       or (s.last_event_at = :before_at and s.session_id < :before_id))
order by s.last_event_at desc, s.session_id desc
limit :limit;
