{{ config(enabled=target.type in ['athena', 'trino']) }}

-- Time travel over analytics.web_events (the architecture guide's time_travel_analysis):
-- every snapshot still in the table's history, what it did (append,
-- overwrite for MERGE, delete), the records Iceberg counted, and for the
-- newest snapshots the rows actually visible `for version as of` it and the
-- change against its parent. How far back this reaches is the table's
-- snapshot retention (docs/dbt.md, "Time travel").
-- Disabled on the local DuckDB target: no Iceberg history exists there.

with

snapshots as (

    select * from {{ ref('stg_analytics__web_events_snapshots') }}

),

versions as (

    select * from {{ ref('stg_analytics__web_events_versions') }}

),

history as (

    select
        snapshots.*,
        versions.visible_row_count as rows_as_of_snapshot,
        versions.event_date_count as event_dates_as_of_snapshot,
        lag(snapshots.committed_at) over (order by snapshots.committed_at)
            as previous_committed_at

    from snapshots
    left join versions
        on snapshots.snapshot_id = versions.snapshot_id

),

final as (

    select
        history.snapshot_id,
        history.parent_snapshot_id,
        history.snapshot_operation,
        history.committed_at,
        history.total_record_count,
        history.added_record_count,
        history.deleted_record_count,
        history.added_data_file_count,
        history.rows_as_of_snapshot,
        history.event_dates_as_of_snapshot,
        history.rows_as_of_snapshot - parents.rows_as_of_snapshot
            as row_change_from_parent,
        {{ webevents.epoch_seconds('history.committed_at') }}
        - {{ webevents.epoch_seconds('history.previous_committed_at') }}
            as seconds_since_previous_snapshot

    from history
    left join history as parents
        on history.parent_snapshot_id = parents.snapshot_id

)

select * from final
