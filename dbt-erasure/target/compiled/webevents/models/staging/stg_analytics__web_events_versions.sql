

-- Row counts of analytics.web_events as of each of its newest
-- var time_travel_snapshot_count snapshots, read with
-- `for version as of <snapshot_id>` (Iceberg time travel on Athena/Trino).
-- The snapshot ids are listed at compile time: time travel takes a constant.
-- Disabled on the local DuckDB target, which has no table history.

with

versions as (

    
        select
            cast(8340607172632967911 as bigint) as snapshot_id,
            count(*) as visible_row_count,
            count(distinct event_date) as event_date_count
        -- Iceberg time travel, which sqlfluff's athena dialect does not parse
        from "t_test_erasure_on_trino_b44f49"."analytics"."web_events" for version as of 8340607172632967911  -- noqa: RF04
        union all
    
        select
            cast(540040964460783761 as bigint) as snapshot_id,
            count(*) as visible_row_count,
            count(distinct event_date) as event_date_count
        -- Iceberg time travel, which sqlfluff's athena dialect does not parse
        from "t_test_erasure_on_trino_b44f49"."analytics"."web_events" for version as of 540040964460783761  -- noqa: RF04
        union all
    
        select
            cast(6409039881003209740 as bigint) as snapshot_id,
            count(*) as visible_row_count,
            count(distinct event_date) as event_date_count
        -- Iceberg time travel, which sqlfluff's athena dialect does not parse
        from "t_test_erasure_on_trino_b44f49"."analytics"."web_events" for version as of 6409039881003209740  -- noqa: RF04
        union all
    
        select
            cast(3802122103604310724 as bigint) as snapshot_id,
            count(*) as visible_row_count,
            count(distinct event_date) as event_date_count
        -- Iceberg time travel, which sqlfluff's athena dialect does not parse
        from "t_test_erasure_on_trino_b44f49"."analytics"."web_events" for version as of 3802122103604310724  -- noqa: RF04
        
    

)

select * from versions