-- name: set_session_contact!
-- A session's contact from an event (ingest), when that event is newer (event time, then
-- row id) than the one the stored contact came from: any arrival order ends the same.
update onboard_sessions
set contact = :contact,
    contact_at = :at,
    contact_row = :row
where session_id = :session_id
  and (contact_at is null or (:at, :row) > (contact_at, contact_row));

-- name: session_contact^
-- Who to contact about one session and its support reference (the ticket page), each
-- null when unknown.
select contact,
       reference
from onboard_sessions
where session_id = :session_id;
