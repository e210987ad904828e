-- name: trend_since
-- Cohort sessions per hour of their first event and status, from an hour on: the funnel
-- rollup's cells (hours x 4 statuses at most: refused too), never the sessions or the events.
select hour, status, sum(sessions) as sessions
from funnel_rollup
where hour >= :hour
group by hour, status;
