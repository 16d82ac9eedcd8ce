{{ config(materialized='table', enabled=target.type in ['athena', 'trino']) }}

-- Time travel over analytics.web_events:
-- every snapshot still in the table's history, what it did (append,
-- overwrite for MERGE, delete), the records Iceberg counted, the rows
-- visible as of it and the change against its parent, all from Iceberg's
-- snapshot metadata: the daily build reads no data file for them (the rows
-- equal `count(*) for version as of` each snapshot: tests/trino). How far
-- back this reaches is the table's snapshot retention (docs/dbt.md).
-- Disabled on the local DuckDB target: no Iceberg history exists there.

with

snapshots as (

    select * from {{ ref('stg_analytics__web_events_snapshots') }}

),

history as (

    select
        snapshots.*,
        snapshots.visible_record_count as rows_as_of_snapshot,
        lag(snapshots.committed_at) over (order by snapshots.committed_at)
            as previous_committed_at

    from snapshots

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
        history.changed_partition_count,
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
