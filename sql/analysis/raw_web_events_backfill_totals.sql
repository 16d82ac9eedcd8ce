-- The backfill as one input, counted from the tables, never from a counter:
-- archive lines in (the load log's own count of the archive) = rows landed in
-- raw.web_events + lines skipped because the same event (event_id and
-- event_timestamp) was already landed by an earlier load + rejected + dropped.
-- A line neither landed nor skipped, or a raw row no archive line explains,
-- leaves the sum short (is_balanced false). Reads whole tables: it reconciles
-- the whole backfill, so there is no partition to prune.
with

loads as (
    select coalesce(sum(source_lines), 0) as records_in
    from raw.web_events_backfill_loads
),

staged as (
    select coalesce(count_if(outcome = 'dropped'), 0) as dropped_lines
    from raw.web_events_backfill_stage
),

rejects as (
    select count(*) as rejected_lines
    from raw.web_events_backfill_rejects
),

staged_copies as (
    select
        event_id,
        event_timestamp,
        count(*) as copies
    from raw.web_events_backfill_stage
    where outcome = 'ok'
    group by event_id, event_timestamp
),

landed_copies as (
    select
        event_id,
        event_timestamp,
        count(*) as copies
    from raw.web_events
    where load_source = 'backfill'
    group by event_id, event_timestamp
),

copies as (
    select
        coalesce(staged_copies.copies, 0) as staged,
        coalesce(landed_copies.copies, 0) as landed
    from staged_copies
    full outer join landed_copies
        on
            staged_copies.event_id = landed_copies.event_id
            and staged_copies.event_timestamp = landed_copies.event_timestamp
),

totals as (
    select
        coalesce(sum(landed), 0) as landed_rows,
        coalesce(sum(
            case
                when landed > 0 and staged > landed then staged - landed else 0
            end
        ), 0) as skipped_lines,
        coalesce(sum(
            case when landed = 0 then staged else 0 end
        ), 0) as lines_not_landed,
        coalesce(sum(
            case when landed > staged then landed - staged else 0 end
        ), 0) as rows_without_a_line
    from copies
)

select
    loads.records_in,
    totals.landed_rows as landed,
    totals.skipped_lines as skipped,
    rejects.rejected_lines as failed,
    staged.dropped_lines as dropped,
    totals.lines_not_landed,
    totals.rows_without_a_line,
    loads.records_in = totals.landed_rows + totals.skipped_lines
    + rejects.rejected_lines + staged.dropped_lines
    and totals.lines_not_landed = 0
    and totals.rows_without_a_line = 0 as is_balanced
from loads
cross join totals
cross join rejects
cross join staged
