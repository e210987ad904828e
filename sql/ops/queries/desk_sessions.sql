-- name: insert_desk_session<!
-- Open a browser session for an account; only the secret's hash is stored.
insert into desk_sessions (secret_hash, account_id, created_at, expires_at)
values (:secret_hash, :account_id, :now, :expires_at)
returning id;

-- name: get_desk_session^
-- The live session with this secret hash, with its enabled account; nothing otherwise.
select s.id,
       s.account_id,
       s.expires_at,
       a.name,
       a.is_admin
from desk_sessions as s
join accounts as a on a.id = s.account_id
where s.secret_hash = :secret_hash
  and s.ended_at is null
  and s.expires_at > :now
  and a.disabled_at is null;

-- name: live_desk_sessions
-- Which of these session ids (a JSON array) are still live (streams of the others close).
select s.id
from desk_sessions as s
join accounts as a on a.id = s.account_id
where s.id in (select value from json_each(:ids))
  and s.ended_at is null
  and s.expires_at > :now
  and a.disabled_at is null;

-- name: end_desk_session!
-- Log out: end one session.
update desk_sessions
set ended_at = :now,
    end_reason = 'logout'
where id = :session_id
  and ended_at is null;

-- name: purge_desk_sessions!
-- Forget sessions that expired or ended more than a day ago (their cookies stay refused:
-- a secret that matches no row is no session).
delete from desk_sessions
where expires_at < :cutoff
   or ended_at < :cutoff;
