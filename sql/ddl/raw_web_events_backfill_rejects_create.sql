-- Archive lines the backfill could not turn into a landing row, with the reason:
-- nothing is skipped silently. A chunk re-run replaces its archive_date range.
create table if not exists raw.web_events_backfill_rejects (
    archive_date date,
    source_file string,
    reason string,
    line string,
    rejected_at timestamp
)
partitioned by (month(archive_date))
tblproperties ('table_type' = 'iceberg')
