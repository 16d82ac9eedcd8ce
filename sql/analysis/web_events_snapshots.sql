-- The snapshots of analytics.web_events, newest first: when each commit
-- happened, what it did and how many rows it added or deleted (Iceberg
-- "$snapshots" metadata table). Athena/Trino only.
select
    committed_at,
    snapshot_id,
    parent_id,
    operation,
    element_at(summary, 'added-records') as added_records,
    element_at(summary, 'deleted-records') as deleted_records,
    element_at(summary, 'total-records') as total_records
from analytics."web_events$snapshots"
order by committed_at desc
