-- The funnel's covering index carries the refusal code too: the partial first hour counts
-- an active session with a refusal code as `refused` (migration 0016), and without the
-- code in the index it read every session row of that hour (up to an hour of sessions per
-- uncached funnel or drill-down read). refusal_code is null for almost every session, so
-- the entries grow by about one byte.
drop index onboard_sessions_by_first;
create index onboard_sessions_by_first on onboard_sessions (
    first_event_at,
    furthest_stage,
    status,
    refusal_code,
    failed_step,
    step0_bucket,
    step1_bucket,
    step2_bucket,
    step3_bucket,
    step4_bucket
);
