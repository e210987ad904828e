-- The Desk's search by support reference (vm122_ops/tickets/search.py): the 8-character
-- reference the Portal gives the customer to quote (onboarding.started's data.reference,
-- A-Z and 2-9: vm112_portal/support.py), kept on the session and indexed, so a reference
-- is one index lookup whatever the number of sessions or events. Ingest writes it from
-- the first onboarding.started stored that carries a well-formed one; sessions stored
-- before this migration get it by the same rule from their events still retained (the
-- first such event by row id; a value that is not 8 characters of A-Z and 2-9 is left out).
alter table onboard_sessions add column reference text;

update onboard_sessions
set reference = (
    select json_extract(e.payload, '$.data.reference')
    from webhook_events as e indexed by webhook_events_by_session
    where e.session_id = onboard_sessions.session_id
      and e.event_type = 'onboarding.started'
      and json_valid(e.payload)
      and json_type(e.payload, '$.data.reference') = 'text'
      and length(json_extract(e.payload, '$.data.reference')) = 8
      and json_extract(e.payload, '$.data.reference') glob
          '[A-Z2-9][A-Z2-9][A-Z2-9][A-Z2-9][A-Z2-9][A-Z2-9][A-Z2-9][A-Z2-9]'
    order by e.id
    limit 1
);

create index onboard_sessions_by_reference on onboard_sessions (reference, last_event_at)
where reference is not null;
