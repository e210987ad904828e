-- The code of a failed session's last failure on the session row (issue 12, item 3: each
-- code of the "why sessions failed" card opens its sessions), so the drill-down by code is
-- a range on an index, not a read of events. A failed session's newest event is its last
-- failure (vm122_ops/ingest/session_fold.py); ingest writes the code as vm122_ops/funnel/failure_codes.py labels
-- it, null for a session that is not failed.
alter table onboard_sessions add column failure_code text;

-- Failed sessions by step and code, newest activity first (cohort_code_page) and counted
-- from the index alone (cohort_code_count: first_event_at is in it).
create index onboard_sessions_failed_by_code on onboard_sessions (
    failed_step,
    failure_code,
    last_event_at,
    session_id,
    first_event_at
)
where status = 'failed';

-- Backfill from each failed session's last event, by codes.failure_code()'s rule: a text
-- or integer `code` without control characters (U+0001-U+001F, U+007F), stripped of the
-- whitespace Python's str.strip() strips, cut to 64 characters; `unspecified` when absent,
-- of another JSON type, empty, or when the event is no longer stored (purged). The
-- control characters go in groups of eight (deeper nesting overflows SQLite's parser).
update onboard_sessions
set failure_code = (
    select cast(json_extract(e.payload, '$.data.code') as text)
    from webhook_events as e
    where e.id = onboard_sessions.last_event_row
      and json_valid(e.payload)
      and json_type(e.payload, '$.data.code') in ('text', 'integer')
)
where status = 'failed';

update onboard_sessions
set failure_code = replace(replace(replace(replace(replace(replace(replace(replace(failure_code
    , char(1), '')
    , char(2), '')
    , char(3), '')
    , char(4), '')
    , char(5), '')
    , char(6), '')
    , char(7), '')
    , char(8), '')
where failure_code is not null;

update onboard_sessions
set failure_code = replace(replace(replace(replace(replace(replace(replace(replace(failure_code
    , char(9), '')
    , char(10), '')
    , char(11), '')
    , char(12), '')
    , char(13), '')
    , char(14), '')
    , char(15), '')
    , char(16), '')
where failure_code is not null;

update onboard_sessions
set failure_code = replace(replace(replace(replace(replace(replace(replace(replace(failure_code
    , char(17), '')
    , char(18), '')
    , char(19), '')
    , char(20), '')
    , char(21), '')
    , char(22), '')
    , char(23), '')
    , char(24), '')
where failure_code is not null;

update onboard_sessions
set failure_code = replace(replace(replace(replace(replace(replace(replace(replace(failure_code
    , char(25), '')
    , char(26), '')
    , char(27), '')
    , char(28), '')
    , char(29), '')
    , char(30), '')
    , char(31), '')
    , char(127), '')
where failure_code is not null;

update onboard_sessions
set failure_code = coalesce(
    nullif(
        substr(
            trim(
                failure_code,
                ' ' || char(133, 160, 5760, 8192, 8193, 8194, 8195, 8196, 8197, 8198, 8199, 8200, 8201,
                   8202, 8232, 8233, 8239, 8287, 12288)
            ),
            1,
            64
        ),
        ''
    ),
    'unspecified'
)
where status = 'failed';
