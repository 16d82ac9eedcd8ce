-- When each snapshot of analytics.web_events became the current one, and
-- whether it is still an ancestor of the current state (a rollback makes it
-- not). Iceberg "$history" metadata table. Athena/Trino only.
select
    made_current_at,
    snapshot_id,
    parent_id,
    is_current_ancestor
from analytics."web_events$history"
order by made_current_at desc
