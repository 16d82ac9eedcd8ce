-- The chunk's reconciliation, one row per chunk: lines counted in the archive
-- itself (a second, independent read) against what the stage made of them
-- and what is in raw.web_events now. `webevents backfill` fails unless
-- source_lines = landed_lines + rejected_lines + dropped_lines.
-- logged_at changes only when a count changes, so a re-run changes nothing.
merge into raw.web_events_backfill_loads as loads
using (
    with

    archive_counts as (
        select count(*) as source_lines
        from archive.web_events_archive
        where dt between '{{ date_from }}' and '{{ date_to }}'
    ),

    staged as (
        select
            outcome,
            event_id,
            event_timestamp
        from raw.web_events_backfill_stage
        where
            archive_date between date '{{ date_from }}' and date '{{ date_to }}'
    ),

    landed_keys as (
        select distinct
            event_id,
            event_timestamp
        from raw.web_events
        where
            event_timestamp >= timestamp '{{ event_date_from }} 00:00:00'
            and event_timestamp
            < date_add('day', 1, timestamp '{{ event_date_to }} 00:00:00')
            and load_source = 'backfill'
    ),

    staged_counts as (
        select
            -- coalesce: DuckDB's count_if over no rows is null, Trino's 0
            coalesce(count_if(landed_keys.event_id is not null), 0)
                as landed_lines,
            coalesce(count_if(staged.outcome = 'rejected'), 0)
                as rejected_lines,
            coalesce(count_if(staged.outcome = 'dropped'), 0)
                as dropped_lines
        from staged
        left join landed_keys
            on
                staged.outcome = 'ok'
                and staged.event_id = landed_keys.event_id
                and staged.event_timestamp = landed_keys.event_timestamp
    )

    select
        date '{{ date_from }}' as date_from,
        date '{{ date_to }}' as date_to,
        archive_counts.source_lines,
        staged_counts.landed_lines,
        staged_counts.rejected_lines,
        staged_counts.dropped_lines
    from archive_counts
    cross join staged_counts
) as chunk
    on loads.date_from = chunk.date_from and loads.date_to = chunk.date_to
when matched and (
    loads.source_lines != chunk.source_lines
    or loads.landed_lines != chunk.landed_lines
    or loads.rejected_lines != chunk.rejected_lines
    or loads.dropped_lines != chunk.dropped_lines
) then
    update
        set
            source_lines = chunk.source_lines,
            landed_lines = chunk.landed_lines,
            rejected_lines = chunk.rejected_lines,
            dropped_lines = chunk.dropped_lines,
            logged_at = timestamp '{{ loaded_at }}'
when not matched then insert (
    date_from,
    date_to,
    source_lines,
    landed_lines,
    rejected_lines,
    dropped_lines,
    logged_at
) values (
    chunk.date_from,
    chunk.date_to,
    chunk.source_lines,
    chunk.landed_lines,
    chunk.rejected_lines,
    chunk.dropped_lines,
    timestamp '{{ loaded_at }}'
)
