

-- Row counts of analytics.web_events as of each of its newest
-- var time_travel_snapshot_count snapshots, read with
-- `for version as of <snapshot_id>` (Iceberg time travel on Athena/Trino).
-- The snapshot ids are listed at compile time: time travel takes a constant.
-- Disabled on the local DuckDB target, which has no table history.

with

versions as (

    
        select
            cast(5275590570185555699 as bigint) as snapshot_id,
            count(*) as visible_row_count,
            count(distinct event_date) as event_date_count
        -- Iceberg time travel, which sqlfluff's athena dialect does not parse
        from "t_test_erasure_on_trino_631a67"."analytics"."web_events" for version as of 5275590570185555699  -- noqa: RF04
        union all
    
        select
            cast(4839924564793397259 as bigint) as snapshot_id,
            count(*) as visible_row_count,
            count(distinct event_date) as event_date_count
        -- Iceberg time travel, which sqlfluff's athena dialect does not parse
        from "t_test_erasure_on_trino_631a67"."analytics"."web_events" for version as of 4839924564793397259  -- noqa: RF04
        union all
    
        select
            cast(1860313756686510665 as bigint) as snapshot_id,
            count(*) as visible_row_count,
            count(distinct event_date) as event_date_count
        -- Iceberg time travel, which sqlfluff's athena dialect does not parse
        from "t_test_erasure_on_trino_631a67"."analytics"."web_events" for version as of 1860313756686510665  -- noqa: RF04
        union all
    
        select
            cast(3151925522506116016 as bigint) as snapshot_id,
            count(*) as visible_row_count,
            count(distinct event_date) as event_date_count
        -- Iceberg time travel, which sqlfluff's athena dialect does not parse
        from "t_test_erasure_on_trino_631a67"."analytics"."web_events" for version as of 3151925522506116016  -- noqa: RF04
        
    

)

select * from versions