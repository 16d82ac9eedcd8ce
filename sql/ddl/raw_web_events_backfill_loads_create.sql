-- One row per backfill chunk (MERGE on date_from, date_to): the reconciliation
-- source_lines = landed_lines + rejected_lines + dropped_lines.
create table if not exists raw.web_events_backfill_loads (
    date_from date,
    date_to date,
    source_lines bigint,
    landed_lines bigint,
    rejected_lines bigint,
    dropped_lines bigint,
    logged_at timestamp
)
tblproperties ('table_type' = 'iceberg')
