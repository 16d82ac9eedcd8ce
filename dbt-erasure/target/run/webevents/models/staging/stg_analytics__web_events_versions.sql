
  create or replace view
    "t_test_erasure_on_trino_c46bbe"."marts"."stg_analytics__web_events_versions"
  security definer
  as
    

-- Row counts of analytics.web_events as of each of its newest
-- var time_travel_snapshot_count snapshots, read with
-- `for version as of <snapshot_id>` (Iceberg time travel on Athena/Trino).
-- The snapshot ids are listed at compile time: time travel takes a constant.
-- Disabled on the local DuckDB target, which has no table history.

with

versions as (

    
        select
            cast(1309350144614582070 as bigint) as snapshot_id,
            count(*) as visible_row_count,
            count(distinct event_date) as event_date_count
        -- Iceberg time travel, which sqlfluff's athena dialect does not parse
        from "t_test_erasure_on_trino_c46bbe"."analytics"."web_events" for version as of 1309350144614582070  -- noqa: RF04
        union all
    
        select
            cast(2254307058766106402 as bigint) as snapshot_id,
            count(*) as visible_row_count,
            count(distinct event_date) as event_date_count
        -- Iceberg time travel, which sqlfluff's athena dialect does not parse
        from "t_test_erasure_on_trino_c46bbe"."analytics"."web_events" for version as of 2254307058766106402  -- noqa: RF04
        union all
    
        select
            cast(5430171341524143061 as bigint) as snapshot_id,
            count(*) as visible_row_count,
            count(distinct event_date) as event_date_count
        -- Iceberg time travel, which sqlfluff's athena dialect does not parse
        from "t_test_erasure_on_trino_c46bbe"."analytics"."web_events" for version as of 5430171341524143061  -- noqa: RF04
        union all
    
        select
            cast(562823177038474178 as bigint) as snapshot_id,
            count(*) as visible_row_count,
            count(distinct event_date) as event_date_count
        -- Iceberg time travel, which sqlfluff's athena dialect does not parse
        from "t_test_erasure_on_trino_c46bbe"."analytics"."web_events" for version as of 562823177038474178  -- noqa: RF04
        
    

)

select * from versions
  ;
