{{ config(enabled=target.type in ['athena', 'trino']) }}

-- Iceberg snapshot history of analytics.web_events (its "$snapshots"
-- metadata table), with the record counts Iceberg keeps in each summary:
-- no data file is read, whatever the table's size (the row counts once came
-- from ten `for version as of` scans of the whole table, every day).
-- Athena and Trino only: the local DuckDB lake keeps no table history, so
-- this model is disabled on the local target instead of being faked.

{%- set events = source('analytics', 'web_events') %}
{%- set snapshots = events.incorporate(
    path={'identifier': events.identifier ~ '$snapshots'}
) %}

with

source as (

    select * from {{ snapshots }}

),

renamed as (

    select  -- noqa: ST06
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
        cast(element_at(summary, 'changed-partition-count') as bigint)
            as changed_partition_count,
        -- rows a reader sees as of the snapshot: records in data files less
        -- the rows position deletes remove (merge-on-read MERGE writes
        -- those); unknown when equality deletes exist, which neither Athena
        -- nor Trino writes, since one may match any number of rows
        case
            when
                coalesce(
                    cast(element_at(summary, 'total-equality-deletes') as bigint),  -- noqa: LT05
                    0
                ) = 0
                then
                    cast(element_at(summary, 'total-records') as bigint)
                    - coalesce(
                        cast(
                            element_at(summary, 'total-position-deletes')
                            as bigint
                        ),
                        0
                    )
        end as visible_record_count,
        cast(committed_at as timestamp(6)) as committed_at

    from source

)

select * from renamed
