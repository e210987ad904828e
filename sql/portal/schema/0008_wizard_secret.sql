-- Issue 25: the customer always knows where they stand.

-- The support reference customers quote (8 characters derived from the session id).
alter table sessions add column reference text;
-- SHA-256 of the wizard secret the browser holds: every step must present the secret.
alter table sessions add column secret_hash text;
-- "Start again": the session gave up its domain; it holds nothing and takes no more steps.
alter table sessions add column released_at real;
-- Failures in a row at the failed stage: a fault that keeps repeating stops offering retry.
alter table sessions add column failures integer not null default 0;

create unique index sessions_reference on sessions (reference) where reference is not null;
-- Not unique: an API client may give several of its named sessions the secret it chose.
create index sessions_secret on sessions (secret_hash) where secret_hash is not null;
