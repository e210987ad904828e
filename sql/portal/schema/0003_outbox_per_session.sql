-- The dispatcher delivers each session's events in order but sessions independently: the
-- next event of a session is its oldest pending row. This index finds it.

create index outbox_pending_session on outbox (session_id, id) where state = 'pending';
