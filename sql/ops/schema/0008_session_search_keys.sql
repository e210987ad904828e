-- The Desk's search (vm122_ops/tickets/search.py): each session's domain as two lower-case keys,
-- the Unicode form (xn-- labels decoded, NFC) and the ASCII form (non-ASCII labels as
-- xn--), each indexed with the session's activity, so a domain prefix is a range read on
-- an index whatever the number of sessions or events. Ingest writes them; rows stored
-- before this migration get SQLite's lower() of the domain as stored (ASCII letters only:
-- an older Unicode domain with capitals is found by its lower-case or stored form).
alter table onboard_sessions add column domain_key text;
alter table onboard_sessions add column domain_ascii text;

update onboard_sessions set domain_key = lower(domain), domain_ascii = lower(domain);

create index onboard_sessions_by_domain_key on onboard_sessions (domain_key, last_event_at);
create index onboard_sessions_by_domain_ascii on onboard_sessions (domain_ascii, last_event_at);
