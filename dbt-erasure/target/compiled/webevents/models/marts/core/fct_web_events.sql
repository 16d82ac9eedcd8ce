

-- One row per event (the seed's fct_web_events_iceberg) with its session and
-- identity keys, the seed's spatial exploration level and journey milestone.
-- Incremental runs rewrite every event of the sessions re-derived by
-- int_session_boundaries, so session-level columns stay exact.

with

events as (

    select * from "t_test_erasure_on_trino_631a67"."marts"."stg_analytics__web_events"

),

session_boundaries as (

    select * from "t_test_erasure_on_trino_631a67"."marts"."int_session_boundaries"

),

identity_ranges as (

    select * from "t_test_erasure_on_trino_631a67"."marts"."dim_identity_ranges"

),

sessionized_events as (

    select
        events.*,
        session_boundaries.device_key,
        session_boundaries.session_key,
        session_boundaries.session_started_at,
        session_boundaries.session_ended_at,
        session_boundaries.session_event_number,
        session_boundaries.session_event_count,
        session_boundaries.next_event_at,
        session_boundaries.is_cut_session

    from events
    inner join session_boundaries
        on events.event_id = session_boundaries.event_id
    
        where
            events.event_date >= cast(cast('2026-11-20 00:00:00.000000' as timestamp) as date)
            and session_boundaries.event_date
            >= cast(cast('2026-11-20 00:00:00.000000' as timestamp) as date)
            and session_boundaries.session_started_at >= cast('2026-11-20 00:00:00.000000' as timestamp)
    

),

-- the user who identified first within the session, for events before the
-- device's first identification (session-level stitching); grouped per
-- session and joined back, which is cheaper than windows over whole events
session_first_identifications as (

    select
        session_key,
        min(event_timestamp) as first_identified_at

    from sessionized_events
    where user_id is not null
    group by 1

),

session_users as (

    select
        sessionized_events.session_key,
        max(sessionized_events.user_id) as session_first_user_id

    from sessionized_events
    inner join session_first_identifications
        on
            sessionized_events.session_key
            = session_first_identifications.session_key
            and sessionized_events.event_timestamp
            = session_first_identifications.first_identified_at
    group by 1

),

stitched as (

    select
        sessionized_events.*,
        identity_ranges.identity_key,
        coalesce(
            identity_ranges.user_id,
            sessionized_events.user_id,
            session_users.session_first_user_id
        ) as stitched_user_id

    from sessionized_events
    left join session_users
        on sessionized_events.session_key = session_users.session_key
    left join identity_ranges
        on
            sessionized_events.anonymous_id = identity_ranges.anonymous_id
            and sessionized_events.event_timestamp >= identity_ranges.valid_from
            and (
                identity_ranges.valid_to is null
                or sessionized_events.event_timestamp < identity_ranges.valid_to
            )

),

classified as (

    select
        *,
        coalesce(view_pitch, view_yaw, view_hfov) is not null as has_3d_view,
        session_event_number = 1 as is_session_start,
        session_event_number = session_event_count as is_session_end,
        coalesce(page_path like '%/tour%', false)
        or coalesce(view_pitch, view_yaw, view_hfov) is not null
            as is_virtual_tour_page,
        space_id is not null as has_space_context,
        case
            when next_event_at is null then null
            else least(
                    to_unixtime(next_event_at)
                    - to_unixtime(event_timestamp),
                    1800
                )
        end as dwell_seconds

    from stitched

),

final as (

    -- columns grouped by topic, as in staging
    select  -- noqa: ST06
        ----------  keys
        event_id,
        session_key,
        identity_key,
        device_key,
        anonymous_id,
        user_id,
        stitched_user_id,
        tracker_session_id,
        app_id,

        ----------  event
        event_type,
        event_name,
        source_format,
        load_source,
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
        view_pitch,
        view_yaw,
        view_hfov,
        properties_json,

        ----------  quality and bots
        data_quality_score,
        quality_issues,
        is_bot,
        bot_reasons,
        duplicate_count,

        ----------  session position
        session_event_number,
        session_event_count,
        is_session_start,
        is_session_end,
        is_cut_session,
        dwell_seconds,

        ----------  the seed's classifications
        case
            when not has_3d_view then 'no_3d_data'
            when abs(view_pitch) > 45 or abs(view_yaw) > 180
                then 'high_exploration'
            when abs(view_pitch) > 15 or abs(view_yaw) > 90
                then 'medium_exploration'
            else 'low_exploration'
        end as spatial_exploration_level,
        is_virtual_tour_page,
        has_space_context,
        case
            when is_session_start and coalesce(page_referrer, '') != ''
                then 'external_referral_entry'
            when is_virtual_tour_page and has_space_context
                then 'space_exploration'
            when is_session_end and session_event_count > 5
                then 'engaged_exit'
            else 'navigation'
        end as journey_milestone,

        ----------  timestamps (UTC)
        event_timestamp,
        event_date,
        session_started_at,
        session_ended_at,
        received_at,
        processed_at

    from classified

)

select * from final