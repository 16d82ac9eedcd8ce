-- Every line the normalisation rejected, with its reason and the line itself,
-- so nothing is silently lost and a fixed line can be replayed. Only copies
-- not recorded yet are added (identical bad lines in one file are counted
-- copy by copy), so a re-run adds nothing.
insert into raw.web_events_backfill_rejects (
    archive_date,
    source_file,
    reason,
    line,
    rejected_at
)

with

staged as (
    select
        archive_date,
        source_file,
        reason,
        line,
        row_number() over (
            partition by archive_date, source_file, reason, line
        ) as copy_number
    from raw.web_events_backfill_stage
    where
        archive_date between date '{{ date_from }}' and date '{{ date_to }}'
        and outcome = 'rejected'
),

recorded as (
    select
        archive_date,
        source_file,
        reason,
        line,
        count(*) as copies
    from raw.web_events_backfill_rejects
    where archive_date between date '{{ date_from }}' and date '{{ date_to }}'
    group by archive_date, source_file, reason, line
)

select
    staged.archive_date,
    staged.source_file,
    staged.reason,
    staged.line,
    timestamp '{{ loaded_at }}' as rejected_at
from staged
left join recorded
    on
        staged.archive_date = recorded.archive_date
        and staged.source_file = recorded.source_file
        and staged.reason = recorded.reason
        and staged.line = recorded.line
where staged.copy_number > coalesce(recorded.copies, 0)
