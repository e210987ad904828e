-- Refused attempts per minute and refusal code, for /metrics' 15 and 60 minute windows
-- (docs/observability.md), kept like activity_minutes (0004): every stored
-- onboarding.started carrying a refusal counts once in its event's minute, with its code
-- (`unspecified` for an older Portal's '(rejected)' start). Pruned after two days.
create table refusal_minutes (
    minute integer not null,
    code text not null,
    attempts integer not null,
    primary key (minute, code)
) without rowid;

-- The last two days from the events still stored (older minutes are never read).
insert into refusal_minutes (minute, code, attempts)
select e.occurred_at / 60000,
       coalesce(cast(json_extract(e.payload, '$.data.refusal.code') as text), 'unspecified'),
       count(*)
from webhook_events as e indexed by webhook_events_by_type
where e.event_type = 'onboarding.started'
  and e.occurred_at >= (cast(strftime('%s', 'now') as integer) - 172800) * 1000
  and (e.domain = '(rejected)' or json_type(e.payload, '$.data.refusal') = 'object')
group by 1, 2;
