-- Empty the stage for the chunk's archive days, so the stage insert that
-- follows can be re-run without doubling lines.
delete from raw.web_events_backfill_stage
where archive_date between date '{{ date_from }}' and date '{{ date_to }}'
