-- The id of the wizard request that emitted each event (X-Request-ID), sent to Ops with
-- every delivery so one onboarding can be followed across both services' logs.

alter table outbox add column request_id text;
