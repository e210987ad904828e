-- Who to contact about a session (vm122_ops/tickets/contacts.py, issue 12 item 10): the admin
-- address the customer typed, from the newest event (by event time, then row id) that
-- carries one; contact_at and contact_row say which, so any arrival order gives the same
-- contact. Ingest writes them. Sessions stored before this migration get it from their
-- events still retained, by the same rule: `contact`, else the `account` an older Portal's
-- account.created and onboarding.completed carry (the same address); a value that is not
-- one plain address is left out, here with GLOB (printable ASCII, one @, no quote,
-- bracket or separator, a dot in an LDH domain, at most 254 characters).
alter table onboard_sessions add column contact text;
alter table onboard_sessions add column contact_at integer;
alter table onboard_sessions add column contact_row integer;

update onboard_sessions
set (contact, contact_at, contact_row) = (
    select value, at, row
    from (select json_extract(e.payload, '$.data.contact') as value,
                 json_type(e.payload, '$.data.contact') as kind,
                 e.occurred_at as at,
                 e.id as row,
                 0 as preference
          from webhook_events as e
          where e.session_id = onboard_sessions.session_id
            and json_valid(e.payload)
          union all
          select json_extract(e.payload, '$.data.account'),
                 json_type(e.payload, '$.data.account'),
                 e.occurred_at,
                 e.id,
                 1
          from webhook_events as e
          where e.session_id = onboard_sessions.session_id
            and e.event_type in ('account.created', 'onboarding.completed')
            and json_valid(e.payload))
    where kind = 'text'
      and length(value) <= 254
      and value glob '?*@?*.?*'
      and value not glob '*[^!-~]*'
      and value not glob '*@*@*'
      and value not glob '*[]["(),:;<>\]*'
      and value not glob '*@*[^A-Za-z0-9.-]*'
    order by at desc, row desc, preference
    limit 1
);
