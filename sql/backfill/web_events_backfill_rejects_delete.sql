-- Remove the chunk's rejects that the stage no longer rejects (a line fixed
-- in the archive, a rule fixed in the SQL). Together with the rejects insert,
-- a re-run leaves the rejects as they were, rejected_at included.
delete from raw.web_events_backfill_rejects
where
    archive_date between date '{{ date_from }}' and date '{{ date_to }}'
    and not exists (
        select 1 as already_there
        from raw.web_events_backfill_stage as staged
        where
            staged.archive_date
            between date '{{ date_from }}' and date '{{ date_to }}'
            and staged.outcome = 'rejected'
            and staged.archive_date = web_events_backfill_rejects.archive_date
            and staged.source_file = web_events_backfill_rejects.source_file
            and staged.reason = web_events_backfill_rejects.reason
            and staged.line = web_events_backfill_rejects.line
    )
