-- What the recovery benchmark reads from the stores it restores (bench/recovery.py).

-- name: stored_event_ids
-- Every webhook-id an Ops store holds.
select event_id
from webhook_events;

-- name: outbox_not_delivered$
-- How many Portal outbox rows are still pending (or dead): 0 once a replay has drained.
select count(*)
from outbox
where state != 'delivered';
