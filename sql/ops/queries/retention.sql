-- name: count_events_received_before$
-- How many raw events a purge with this cutoff would remove.
select count(*)
from webhook_events
where received_at < :cutoff;

-- name: purge_events_batch!
-- Remove one small batch of raw events received before the cutoff (oldest first).
delete from webhook_events
where id in (
    select id
    from webhook_events
    where received_at < :cutoff
    order by received_at
    limit :batch
);

-- name: purge_rollup_hours!
-- Funnel rollup cells older than the cutoff hour (no window can reach them).
delete from funnel_rollup
where hour < :hour;

-- name: purge_duration_hours!
-- Step-duration cells older than the cutoff hour.
delete from funnel_durations
where hour < :hour;
