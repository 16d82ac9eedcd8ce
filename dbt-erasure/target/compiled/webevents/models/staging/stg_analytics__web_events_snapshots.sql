

-- Iceberg snapshot history of analytics.web_events (its "$snapshots"
-- metadata table), with the record counts Iceberg keeps in each summary.
-- Athena and Trino only: the local DuckDB lake keeps no table history, so
-- this model is disabled on the local target instead of being faked.

with

source as (

    select * from "t_test_erasure_on_trino_631a67"."analytics"."web_events$snapshots"

),

renamed as (

    select
        snapshot_id,
        parent_id as parent_snapshot_id,
        operation as snapshot_operation,
        cast(element_at(summary, 'total-records') as bigint)
            as total_record_count,
        cast(element_at(summary, 'added-records') as bigint)
            as added_record_count,
        cast(element_at(summary, 'deleted-records') as bigint)
            as deleted_record_count,
        cast(element_at(summary, 'added-data-files') as bigint)
            as added_data_file_count,
        cast(committed_at as timestamp(6)) as committed_at

    from source

)

select * from renamed