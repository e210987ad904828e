-- name: store_summary^
-- What a restored store holds (python -m vm122_ops verify PATH, scripts/restore-ops).
select
    (select count(*) from webhook_events) as events,
    (select count(*) from onboard_sessions) as sessions,
    (select count(*) from tickets) as tickets,
    (select count(*) from ticket_entries where kind = 'note') as notes,
    (select max(received_at) from ticket_entries where kind = 'note') as newest_note_at;

-- name: newest_event^
-- The last event stored (by row, the commit order): up to which event a restore holds.
select
    id,
    event_id,
    event_type,
    session_id,
    received_at
from webhook_events
order by id desc
limit 1;
