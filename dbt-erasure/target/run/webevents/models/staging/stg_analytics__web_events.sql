
  create or replace view
    "t_test_erasure_on_trino_631a67"."marts"."stg_analytics__web_events"
  security definer
  as
    -- Enriched events, renamed and cast; the only model that reads the source.

with

source as (

    select * from "t_test_erasure_on_trino_631a67"."analytics"."web_events"

),

renamed as (

    -- columns grouped by topic (STYLE.md)
    select  -- noqa: ST06

        ----------  ids
        event_id,
        anonymous_id,
        user_id,
        session_id as tracker_session_id,
        app_id,

        ----------  event
        event_type,
        event_name,
        source_format,
        load_source,

        ----------  page
        page_url,
        page_path,
        page_referrer,
        user_agent,

        ----------  space
        space_id,
        space_name,
        space_type,
        room_id,
        room_name,
        community,
        building,
        floorplan,

        ----------  3D view position (degrees)
        cast(coordinates.pitch as double) as view_pitch,
        cast(coordinates.yaw as double) as view_yaw,
        cast(coordinates.hfov as double) as view_hfov,
        properties as properties_json,

        ----------  quality and bots
        cast(data_quality_score as double) as data_quality_score,
        quality_issues,
        coalesce(is_bot, false) as is_bot,
        bot_reasons,
        cast(duplicate_count as integer) as duplicate_count,

        ----------  timestamps (UTC)
        cast(event_timestamp as timestamp(6)) as event_timestamp,
        cast(event_date as date) as event_date,
        cast(received_at as timestamp(6)) as received_at,
        cast(processed_timestamp as timestamp(6)) as processed_at

    from source

)

select * from renamed
  ;
