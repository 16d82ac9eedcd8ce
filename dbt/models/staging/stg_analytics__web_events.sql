-- Enriched events, renamed and cast; the only model that reads the source.

with

source as (

    select * from {{ source('analytics', 'web_events') }}

),

renamed as (

    -- columns grouped by topic (CONTRIBUTING.md)
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

        ----------  what no column above holds, as the producer sent it (JSON)
        context as context_json,
        traits as traits_json,
        extra as extra_json,
        cast(redacted_field_count as integer) as redacted_field_count,

        ----------  campaign and client
        utm_source,
        utm_medium,
        utm_campaign,
        utm_term,
        utm_content,
        locale,

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
        cast(processed_timestamp as timestamp(6)) as processed_at,
        -- the producer's own clock (event_timestamp is corrected for its skew)
        cast(sent_at as timestamp(6)) as sent_at,
        cast(original_timestamp as timestamp(6)) as original_event_timestamp

    from source

)

select * from renamed
