-- Each session's step durations as histogram buckets (vm122_ops/funnel/durations.py), so the
-- funnel sums the sessions of its partial first hour in SQL, from an index alone,
-- instead of reading every session row of that hour.
alter table onboard_sessions add column step0_bucket integer;
alter table onboard_sessions add column step1_bucket integer;
alter table onboard_sessions add column step2_bucket integer;
alter table onboard_sessions add column step3_bucket integer;
alter table onboard_sessions add column step4_bucket integer;

-- Backfill with the formula of durations.bucket_of: exact ms below 100, then 1% buckets.
update onboard_sessions set
    step0_bucket = case
        when started_at is null or domain_validated_at is null then null
        when domain_validated_at - started_at < 100 then max(domain_validated_at - started_at, 0)
        else 100 + cast(ceil(ln((domain_validated_at - started_at) / 100.0) / ln(1.01)) as integer)
    end,
    step1_bucket = case
        when domain_validated_at is null or dns_applied_at is null then null
        when dns_applied_at - domain_validated_at < 100 then max(dns_applied_at - domain_validated_at, 0)
        else 100 + cast(ceil(ln((dns_applied_at - domain_validated_at) / 100.0) / ln(1.01)) as integer)
    end,
    step2_bucket = case
        when dns_applied_at is null or account_created_at is null then null
        when account_created_at - dns_applied_at < 100 then max(account_created_at - dns_applied_at, 0)
        else 100 + cast(ceil(ln((account_created_at - dns_applied_at) / 100.0) / ln(1.01)) as integer)
    end,
    step3_bucket = case
        when account_created_at is null or infra_synced_at is null then null
        when infra_synced_at - account_created_at < 100 then max(infra_synced_at - account_created_at, 0)
        else 100 + cast(ceil(ln((infra_synced_at - account_created_at) / 100.0) / ln(1.01)) as integer)
    end,
    step4_bucket = case
        when infra_synced_at is null or completed_at is null then null
        when completed_at - infra_synced_at < 100 then max(completed_at - infra_synced_at, 0)
        else 100 + cast(ceil(ln((completed_at - infra_synced_at) / 100.0) / ln(1.01)) as integer)
    end;

-- Covers the partial-hour aggregates (and the cohort range scans) without the table.
drop index onboard_sessions_by_first;
create index onboard_sessions_by_first on onboard_sessions (
    first_event_at,
    furthest_stage,
    status,
    step0_bucket,
    step1_bucket,
    step2_bucket,
    step3_bucket,
    step4_bucket
);
