{{
    config(
        unique_key=['event_date', 'event_id'],
        **webevents.incremental_config(partition_by='event_date')
    )
}}

-- One row per event (the architecture guide's fct_web_events_iceberg) with its session and
-- identity keys, the architecture guide's spatial exploration level and journey milestone.
-- Incremental runs rewrite every event of the sessions re-derived by
-- int_session_boundaries, so session-level columns stay exact.

{%- if is_incremental() %}
    {%- set rebuild_from = webevents.rebuild_from(
        'session_started_at', 'event_timestamp'
    ) %}
{%- endif %}

with

events as (

    select * from {{ ref('stg_analytics__web_events') }}

),

session_boundaries as (

    select * from {{ ref('int_session_boundaries') }}

),

identity_ranges as (

    select * from {{ ref('dim_identity_ranges') }}

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
    {% if is_incremental() %}
        where
            events.event_date >= cast({{ rebuild_from }} as date)
            and session_boundaries.event_date
            >= cast({{ rebuild_from }} as date)
            and session_boundaries.session_started_at >= {{ rebuild_from }}
    {% endif %}

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
        coalesce(room_id, space_id, page_path, '') as view_key,
        case
            when next_event_at is null then null
            else least(
                    {{ webevents.epoch_seconds('next_event_at') }}
                    - {{ webevents.epoch_seconds('event_timestamp') }},
                    {{ var('dwell_cap_seconds') }}
                )
        end as dwell_seconds

    from stitched

),

-- Angular movement within the view: the events of one session in one room
-- (else space, else page). The architecture guide's level compares single angles with
-- fixed bounds (abs(yaw) > 180 never fires for yaw in (-180, 180], and yaw 0
-- is wherever the tour's author put it); how far the viewer turned does not
-- depend on either: circular spread of yaw, range of pitch and of hfov.
movement as (

    select
        *,
        count(view_yaw) over (
            partition by session_key, view_key
        ) as view_yaw_count,
        sum(sin(radians(view_yaw))) over (
            partition by session_key, view_key
        ) as view_yaw_sin_sum,
        sum(cos(radians(view_yaw))) over (
            partition by session_key, view_key
        ) as view_yaw_cos_sum,
        max(view_pitch) over (partition by session_key, view_key)
        - min(view_pitch) over (
            partition by session_key, view_key
        ) as view_pitch_range,
        max(view_hfov) over (partition by session_key, view_key)
        - min(view_hfov) over (
            partition by session_key, view_key
        ) as view_hfov_range

    from classified

),

spread as (

    select
        *,
        -- circular standard deviation of yaw, degrees (0 = one direction);
        -- a resultant length of ~0 (views all round) counts as 180
        case
            when view_yaw_count = 0 then null
            when sqrt(
                    power(view_yaw_sin_sum, 2) + power(view_yaw_cos_sum, 2)
                ) / view_yaw_count <= 1e-9
                then 180e0
            else degrees(sqrt(-2 * ln(least(
                    sqrt(
                        power(view_yaw_sin_sum, 2) + power(view_yaw_cos_sum, 2)
                    )
                    / view_yaw_count,
                    1e0
                ))))
        end as view_yaw_spread_degrees

    from movement

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

        ----------  the architecture guide's classifications
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

        ----------  movement within the view (docs/dbt.md)
        view_yaw_spread_degrees,
        view_pitch_range,
        view_hfov_range,
        case
            when view_yaw_count = 0 and view_pitch_range is null
                then 'no_3d_data'
            when
                view_yaw_spread_degrees > 60
                or view_pitch_range > 45
                or view_hfov_range > 30
                then 'high_exploration'
            when
                view_yaw_spread_degrees > 20
                or view_pitch_range > 15
                or view_hfov_range > 10
                then 'medium_exploration'
            else 'low_exploration'
        end as view_movement_level,

        ----------  timestamps (UTC)
        event_timestamp,
        event_date,
        session_started_at,
        session_ended_at,
        received_at,
        processed_at

    from spread

)

select * from final
