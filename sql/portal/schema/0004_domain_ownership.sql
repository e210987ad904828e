-- Domain ownership and throttling of the wizard (issue 17).

-- When this session's CreateDomainRequest created the domain on Carbonio: only then may a
-- later DOMAIN_EXISTS on a retry count as this session's own domain.
alter table sessions add column carbonio_domain_created_at real;

-- The stored answer of the DNS step (JSON): apply runs once per session, later calls get it.
alter table sessions add column dns_result text;

-- Live mode: the TXT token this session must publish, and how control was proven.
alter table sessions add column proof_token text;
alter table sessions add column proven_by text check (proven_by in ('txt', 'grant'));

create index sessions_domain on sessions (domain) where domain is not null;
create index sessions_updated on sessions (updated_at);
create index infra_updated on infra (updated_at);
