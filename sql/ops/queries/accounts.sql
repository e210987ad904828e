-- name: insert_account<!
-- Create an operator account (the name is already lowercase and checked).
insert into accounts (name, password_hash, is_admin, created_at, password_changed_at)
values (:name, :password_hash, :is_admin, :now, :now)
returning id;

-- name: get_account_by_name^
-- One account by its name, disabled or not.
select id,
       name,
       password_hash,
       is_admin,
       created_at,
       disabled_at
from accounts
where name = :name;

-- name: count_accounts$
-- How many accounts exist (the first admin is created only when there is none).
select count(*)
from accounts;

-- name: list_accounts
-- Every account with how many of its Desk sessions are live now.
select a.id,
       a.name,
       a.is_admin,
       a.created_at,
       a.disabled_at,
       (select count(*)
          from desk_sessions as s
         where s.account_id = a.id
           and s.ended_at is null
           and s.expires_at > :now) as live_sessions
from accounts as a
order by a.name;

-- name: list_agents
-- The accounts a ticket can be assigned to: every enabled one, by name.
select id,
       name,
       is_admin
from accounts
where disabled_at is null
order by name;

-- name: get_agent_by_name^
-- An enabled account by name (an assignee must be one).
select id,
       name
from accounts
where name = :name
  and disabled_at is null;

-- name: set_password_hash!
-- Store a new password hash (a reset, or a rehash with newer parameters at login).
update accounts
set password_hash = :password_hash,
    password_changed_at = case when :reset then :now else password_changed_at end
where id = :account_id;

-- name: disable_account!
-- Disable an account; its sessions are ended by end_account_sessions.
update accounts
set disabled_at = coalesce(disabled_at, :now)
where id = :account_id;

-- name: enable_account!
-- Enable a disabled account again (its old sessions stay ended).
update accounts
set disabled_at = null
where id = :account_id;

-- name: end_account_sessions!
-- End every live session of an account (disable, password reset).
update desk_sessions
set ended_at = :now,
    end_reason = :reason
where account_id = :account_id
  and ended_at is null;
