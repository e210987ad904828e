-- name: count_events_received_before$
-- How many raw events a purge with this cutoff would remove (never the newest one).
select count(*) as events
from webhook_events
where received_at < :cutoff
  and id < (select max(id) from webhook_events);

-- name: purge_events_batch!
-- Remove one small batch of raw events received before the cutoff (oldest first). The
-- newest row always stays: row ids are then never reused, so stream cursors and the
-- funnel's duration cache can rely on ids growing.
delete from webhook_events
where id in (
    select id
    from webhook_events
    where received_at < :cutoff
      and id < (select max(id) from webhook_events)
    order by received_at
    limit :batch
);

-- name: purge_rollup_hours!
-- Funnel rollup cells older than the cutoff hour (no window can reach them).
delete from funnel_rollup
where hour < :hour;

-- name: purge_breakdown_cells!
-- Breakdown rollup cells older than the cutoff hour (no window or trend reaches them), and
-- emptied ones: a session that moves on leaves its old cell at 0, read as nothing, but
-- scanned by every split of its hours (at 1M events three in four cells were empty).
delete from breakdown_rollup
where hour < :hour
   or sessions = 0;

-- name: purge_refusal_hours!
-- Refused attempts per hour and code older than the cutoff hour, and emptied ones (a
-- refused session that later validates a domain leaves its cell at 0).
delete from funnel_refusals
where hour < :hour
   or sessions = 0;

-- name: purge_duration_hours!
-- Step-duration cells older than the cutoff hour.
delete from funnel_durations
where hour < :hour;

-- name: purge_webhook_ids_batch!
-- Forget one batch of webhook-ids seen before the cutoff (OPS_WEBHOOK_ID_DAYS).
delete from webhook_ids_seen
where event_id in (
    select event_id
    from webhook_ids_seen
    where received_at < :cutoff
    order by received_at
    limit :batch
);

-- name: forgot_webhook_ids_before!
-- Ops no longer knows every webhook-id it stored before :cutoff (ms).
insert into ops_memory (key, value)
values ('webhook_ids_since', :cutoff)
on conflict (key) do update set value = max(value, excluded.value);

-- name: webhook_ids_since^
-- The time (ms) before which Ops may have forgotten webhook-ids; no row: it never has.
select value from ops_memory where key = 'webhook_ids_since';
