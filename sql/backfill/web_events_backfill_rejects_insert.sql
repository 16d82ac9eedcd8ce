-- Every line the normalisation rejected, with its reason and the line itself,
-- so nothing is silently lost and a fixed line can be replayed.
insert into raw.web_events_backfill_rejects (
    archive_date,
    source_file,
    reason,
    line,
    rejected_at
)
select
    archive_date,
    source_file,
    reason,
    line,
    timestamp '{{ loaded_at }}' as rejected_at
from raw.web_events_backfill_stage
where
    archive_date between date '{{ date_from }}' and date '{{ date_to }}'
    and outcome = 'rejected'
