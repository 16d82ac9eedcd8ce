-- Remove the chunk's earlier rejects: each run records the rejects of the
-- lines as they are now, never twice.
delete from raw.web_events_backfill_rejects
where archive_date between date '{{ date_from }}' and date '{{ date_to }}'
