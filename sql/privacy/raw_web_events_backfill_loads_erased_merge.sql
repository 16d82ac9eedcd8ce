-- Keep each backfill chunk's reconciliation true after an erasure: the stage
-- holds one row per archive line (ok, rejected or dropped), so lines erased
-- from the stage (and from the rewritten archive) leave source_lines and
-- landed_lines / rejected_lines alike. Derived from the tables as they are, so
-- a re-run changes nothing; a chunk nothing was erased from is not touched.
merge into raw.web_events_backfill_loads as loads
using (
    select
        chunks.date_from,
        chunks.date_to,
        count(*) as staged_lines,
        coalesce(count_if(staged.outcome = 'rejected'), 0) as rejected_lines
    from raw.web_events_backfill_loads as chunks
    inner join raw.web_events_backfill_stage as staged
        on staged.archive_date between chunks.date_from and chunks.date_to
    group by chunks.date_from, chunks.date_to
) as recount
    on
        loads.date_from = recount.date_from
        and loads.date_to = recount.date_to
when matched and recount.staged_lines < loads.source_lines then update set
    landed_lines = loads.landed_lines
    - (loads.source_lines - recount.staged_lines)
    + (loads.rejected_lines - recount.rejected_lines),
    rejected_lines = recount.rejected_lines,
    source_lines = recount.staged_lines
